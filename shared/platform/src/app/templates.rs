//! Templates: the achievement a credential attests and its validity policy.

use serde::Deserialize;

use super::{App, Caller};
use crate::auth::Permission;
use crate::ids::{HttpUrl, TemplateId, text};
use crate::model::{Template, TemplateAlignment};
use crate::{Error, Result};

/// `POST …/templates`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    pub name: String,
    pub description: String,
    pub criteria: CriteriaInput,
    pub image: Option<String>,
    pub achievement_type: Option<String>,
    pub alignments: Option<Vec<AlignmentInput>>,
    pub tags: Option<Vec<String>>,
    pub valid_for_days: Option<u32>,
    /// Whether issuing from it needs four-eyes approval (default: no).
    pub requires_approval: Option<bool>,
}

/// The criteria as submitted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriteriaInput {
    pub narrative: String,
}

/// An alignment as submitted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlignmentInput {
    pub target_name: String,
    pub target_url: String,
    pub target_description: Option<String>,
    pub target_framework: Option<String>,
    pub target_code: Option<String>,
}

/// `PATCH …/templates/{id}`: every field optional; `null` clears an optional one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplatePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub criteria: Option<CriteriaInput>,
    #[serde(default, deserialize_with = "double_option")]
    pub image: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub achievement_type: Option<Option<String>>,
    pub alignments: Option<Vec<AlignmentInput>>,
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub valid_for_days: Option<Option<u32>>,
    pub requires_approval: Option<bool>,
}

fn double_option<'de, D, T>(deserializer: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The OB 3.0 achievement types.
const ACHIEVEMENT_TYPES: &[&str] = &[
    "Achievement",
    "ApprenticeshipCertificate",
    "Assessment",
    "Assignment",
    "AssociateDegree",
    "Award",
    "Badge",
    "BachelorDegree",
    "Certificate",
    "CertificateOfCompletion",
    "Certification",
    "CommunityService",
    "Competency",
    "Course",
    "CoCurricular",
    "Degree",
    "Diploma",
    "DoctoralDegree",
    "Fieldwork",
    "GeneralEducationDevelopment",
    "JourneymanCertificate",
    "LearningProgram",
    "License",
    "Membership",
    "ProfessionalDoctorate",
    "QualityAssuranceCredential",
    "MasterCertificate",
    "MasterDegree",
    "MicroCredential",
    "ResearchDoctorate",
    "SecondarySchoolDiploma",
];

fn achievement_type(value: Option<&str>) -> Result<Option<String>> {
    match value {
        None => Ok(None),
        Some(kind)
            if ACHIEVEMENT_TYPES.contains(&kind) || kind.starts_with("ext:") && kind.len() > 4 =>
        {
            text("achievement_type", kind, 100).map(Some)
        }
        Some(_) => {
            Err(Error::invalid("achievement_type", "must be an OB 3.0 achievement type or `ext:…`"))
        }
    }
}

fn alignments(input: Vec<AlignmentInput>) -> Result<Vec<TemplateAlignment>> {
    if input.len() > 100 {
        return Err(Error::invalid("alignments", "at most 100"));
    }
    input
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let field = |name: &str| format!("alignments[{i}].{name}");
            let optional = |name: &str, value: Option<String>| {
                value.map(|v| text(&field(name), &v, 2000)).transpose()
            };
            Ok(TemplateAlignment {
                target_name: text(&field("target_name"), &a.target_name, 500)?,
                target_url: HttpUrl::parse(&field("target_url"), &a.target_url)?,
                target_description: optional("target_description", a.target_description)?,
                target_framework: optional("target_framework", a.target_framework)?,
                target_code: optional("target_code", a.target_code)?,
            })
        })
        .collect()
}

fn tags(input: Vec<String>) -> Result<Vec<String>> {
    if input.len() > 50 {
        return Err(Error::invalid("tags", "at most 50"));
    }
    input.iter().enumerate().map(|(i, t)| text(&format!("tags[{i}]"), t, 100)).collect()
}

fn valid_for_days(days: Option<u32>) -> Result<Option<u32>> {
    match days {
        Some(0) | Some(36_501..) => Err(Error::invalid("valid_for_days", "must be 1 to 36500")),
        other => Ok(other),
    }
}

impl App {
    /// Creates a template in the caller's workspace `slug`.
    pub async fn create_template(
        &self,
        caller: &Caller,
        slug: &str,
        input: TemplateInput,
    ) -> Result<Template> {
        let workspace = self.workspace(caller, slug, Permission::TemplateWrite).await?;
        let now = self.ports().clock.now();
        let template = Template {
            id: TemplateId::generate(),
            workspace_id: workspace.id,
            name: text("name", &input.name, 200)?,
            description: text("description", &input.description, 5000)?,
            criteria_narrative: text("criteria.narrative", &input.criteria.narrative, 10_000)?,
            image: input.image.as_deref().map(|u| HttpUrl::parse("image", u)).transpose()?,
            achievement_type: achievement_type(input.achievement_type.as_deref())?,
            alignments: alignments(input.alignments.unwrap_or_default())?,
            tags: tags(input.tags.unwrap_or_default())?,
            valid_for_days: valid_for_days(input.valid_for_days)?,
            version: 1,
            created_at: now,
            updated_at: now,
            requires_approval: input.requires_approval.unwrap_or(false),
        };
        self.ports().templates.insert_template(&template).await?;
        Ok(template)
    }

    /// The template `id` of the caller's workspace `slug`.
    pub async fn template(&self, caller: &Caller, slug: &str, id: &str) -> Result<Template> {
        let workspace = self.workspace(caller, slug, Permission::TemplateRead).await?;
        let id = TemplateId::parse(id).map_err(|_| Error::NotFound("template"))?;
        self.ports().templates.template(workspace.id, id).await?.ok_or(Error::NotFound("template"))
    }

    /// The templates of the caller's workspace `slug`.
    pub async fn templates(&self, caller: &Caller, slug: &str) -> Result<Vec<Template>> {
        let workspace = self.workspace(caller, slug, Permission::TemplateRead).await?;
        Ok(self.ports().templates.templates(workspace.id).await?)
    }

    /// Changes a template; credentials already issued keep what they were signed with.
    pub async fn update_template(
        &self,
        caller: &Caller,
        slug: &str,
        id: &str,
        patch: TemplatePatch,
    ) -> Result<Template> {
        let workspace = self.workspace(caller, slug, Permission::TemplateWrite).await?;
        let id = TemplateId::parse(id).map_err(|_| Error::NotFound("template"))?;
        let current = self
            .ports()
            .templates
            .template(workspace.id, id)
            .await?
            .ok_or(Error::NotFound("template"))?;
        let mut next = current.clone();
        if let Some(name) = patch.name {
            next.name = text("name", &name, 200)?;
        }
        if let Some(description) = patch.description {
            next.description = text("description", &description, 5000)?;
        }
        if let Some(criteria) = patch.criteria {
            next.criteria_narrative = text("criteria.narrative", &criteria.narrative, 10_000)?;
        }
        if let Some(image) = patch.image {
            next.image = image.as_deref().map(|u| HttpUrl::parse("image", u)).transpose()?;
        }
        if let Some(kind) = patch.achievement_type {
            next.achievement_type = achievement_type(kind.as_deref())?;
        }
        if let Some(input) = patch.alignments {
            next.alignments = alignments(input)?;
        }
        if let Some(input) = patch.tags {
            next.tags = tags(input)?;
        }
        if let Some(days) = patch.valid_for_days {
            next.valid_for_days = valid_for_days(days)?;
        }
        if let Some(value) = patch.requires_approval {
            next.requires_approval = value;
        }
        next.version = current.version + 1;
        next.updated_at = self.ports().clock.now();
        if self.ports().templates.update_template(&next, current.version).await? {
            Ok(next)
        } else {
            Err(Error::Conflict("the template was changed concurrently; retry".into()))
        }
    }
}
