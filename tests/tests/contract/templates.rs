//! `TemplateStore`: workspace scoping, listing, conditional updates.

use std::time::Duration;

use platform::ids::{TemplateId, WorkspaceId};

use crate::AdapterSet;
use crate::fixtures::template;

pub async fn a_template_is_found_only_in_its_workspace(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.templates;
    let (ws, other) = (WorkspaceId::generate(), WorkspaceId::generate());
    let tpl = template(ws, "Rustacean", t.clock.now());
    store.insert_template(&tpl).await?;
    assert_eq!(store.template(ws, tpl.id).await?, Some(tpl.clone()));
    assert_eq!(store.template(other, tpl.id).await?, None);
    assert_eq!(store.template(ws, TemplateId::generate()).await?, None);
    assert!(store.templates(other).await?.is_empty());
    Ok(())
}

pub async fn templates_are_listed_oldest_first_per_workspace(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.templates;
    let (ws, other) = (WorkspaceId::generate(), WorkspaceId::generate());
    let mut expected = Vec::new();
    for name in ["one", "two", "three"] {
        let tpl = template(ws, name, t.clock.now());
        store.insert_template(&tpl).await?;
        store.insert_template(&template(other, name, t.clock.now())).await?;
        expected.push(tpl);
        t.clock.advance(Duration::from_secs(1));
    }
    assert_eq!(store.templates(ws).await?, expected);
    Ok(())
}

pub async fn an_update_with_the_current_version_replaces_the_template(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.templates;
    let ws = WorkspaceId::generate();
    let tpl = template(ws, "Before", t.clock.now());
    store.insert_template(&tpl).await?;
    t.clock.advance(Duration::from_secs(60));
    let next = platform::model::Template {
        name: "After".into(),
        version: tpl.version + 1,
        updated_at: t.clock.now(),
        ..tpl.clone()
    };
    assert!(store.update_template(&next, tpl.version).await?);
    assert_eq!(store.template(ws, tpl.id).await?, Some(next.clone()));
    assert_eq!(store.templates(ws).await?, vec![next]);
    Ok(())
}

pub async fn an_update_with_a_stale_version_is_refused_and_changes_nothing(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.templates;
    let ws = WorkspaceId::generate();
    let tpl = template(ws, "Original", t.clock.now());
    store.insert_template(&tpl).await?;
    let first =
        platform::model::Template { name: "First writer".into(), version: 2, ..tpl.clone() };
    let second =
        platform::model::Template { name: "Second writer".into(), version: 2, ..tpl.clone() };
    assert!(store.update_template(&first, 1).await?);
    // The second writer read version 1 too: it lost the race.
    assert!(!store.update_template(&second, 1).await?);
    assert_eq!(store.template(ws, tpl.id).await?, Some(first));
    Ok(())
}
