//! The bits of the status lists and their newest signed publications.

use anyhow::{Context as _, anyhow};
use async_trait::async_trait;
use credentials::status::StatusList;
use platform::model::{STATUS_LIST_SIZE, StatusListId};
use platform::ports::{PortResult, StatusListStore};
use rusqlite::params;

use super::{SqliteStore, optional, to_i64, to_u64};

#[async_trait]
impl StatusListStore for SqliteStore {
    async fn set_status_bit(
        &self,
        list: &StatusListId,
        index: u64,
        value: bool,
    ) -> PortResult<(Vec<u8>, u64)> {
        let key = list.key();
        let position =
            usize::try_from(index).ok().filter(|_| index < STATUS_LIST_SIZE).ok_or_else(|| {
                anyhow!("index {index} is outside a list of {STATUS_LIST_SIZE} entries")
            })?;
        self.write("set status bit", move |tx| {
            let stored = optional(
                tx,
                "SELECT bits, version FROM status_bits WHERE list_key = ?1",
                [&key],
                |row| Ok((row.get::<_, Vec<u8>>(0)?, to_u64(row.get(1)?)?)),
            )?;
            let (mut bits, version) = match stored {
                Some((bits, version)) => (StatusList::from_bytes(bits).context("stored status bits")?, version),
                None => (StatusList::new(STATUS_LIST_SIZE as usize).context("a new status list")?, 0),
            };
            bits.set(position, value).context("status bit")?;
            let version = version + 1;
            let bits = bits.as_bytes().to_vec();
            tx.execute(
                "INSERT INTO status_bits (list_key, bits, version) VALUES (?1, ?2, ?3)
                 ON CONFLICT (list_key) DO UPDATE SET bits = excluded.bits, version = excluded.version",
                params![key, bits, to_i64(version)?],
            )?;
            Ok((bits, version))
        })
        .await
    }

    async fn status_bits(&self, list: &StatusListId) -> PortResult<Option<(Vec<u8>, u64)>> {
        let key = list.key();
        self.read("status bits", move |c| {
            optional(c, "SELECT bits, version FROM status_bits WHERE list_key = ?1", [key], |row| {
                Ok((row.get::<_, Vec<u8>>(0)?, to_u64(row.get(1)?)?))
            })
        })
        .await
    }

    async fn save_signed_status_list(
        &self,
        list: &StatusListId,
        version: u64,
        document: &str,
    ) -> PortResult<()> {
        let key = list.key();
        let document = document.to_owned();
        self.write("save signed status list", move |tx| {
            // An equal version replaces: it is the same bits, signed again.
            tx.execute(
                "INSERT INTO signed_status_lists (list_key, version, document) VALUES (?1, ?2, ?3)
                 ON CONFLICT (list_key) DO UPDATE SET version = excluded.version, document = excluded.document
                 WHERE excluded.version >= signed_status_lists.version",
                params![key, to_i64(version)?, document],
            )?;
            Ok(())
        })
        .await
    }

    async fn signed_status_list(&self, list: &StatusListId) -> PortResult<Option<(u64, String)>> {
        let key = list.key();
        self.lookup("signed status list", move |c| {
            optional(
                c,
                "SELECT version, document FROM signed_status_lists WHERE list_key = ?1",
                [key],
                |row| Ok((to_u64(row.get(0)?)?, row.get(1)?)),
            )
        })
        .await
    }
}
