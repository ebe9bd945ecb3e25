//! The job queue, SQS-like, in the same database: at-least-once delivery with visibility
//! timeouts, a receipt per receive, and a dead-letter table.
//!
//! A receive hands each message a new random receipt and hides it until `now + visibility`;
//! only the latest receipt deletes or releases it, so a worker that overran its visibility
//! timeout cannot delete a message another worker is now handling. A message that has been
//! received `max_receives` times goes to `dead_letters` on its next receive instead of
//! being returned. "Now" is the store's clock.

use std::time::Duration;

use anyhow::{Result, anyhow};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform::ports::{PortResult, Queue, QueueName, ReceivedMessage};
use rusqlite::params;

use super::{SqliteStore, all, limit};

/// A message that was received too many times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Its id, as it was received.
    pub id: String,
    pub body: String,
    /// How many times it was received.
    pub receive_count: u32,
    pub sent_at: DateTime<Utc>,
    /// When it was moved here.
    pub dead_at: DateTime<Utc>,
}

fn micros(instant: DateTime<Utc>) -> i64 {
    instant.timestamp_micros()
}

fn after(instant: DateTime<Utc>, delay: Duration) -> i64 {
    micros(instant).saturating_add(i64::try_from(delay.as_micros()).unwrap_or(i64::MAX))
}

fn from_micros(value: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| anyhow!("stored time {value} is out of range"))
}

fn receive_count(value: i64) -> Result<u32> {
    u32::try_from(value).map_err(|_| anyhow!("stored receive count {value} is out of range"))
}

impl SqliteStore {
    fn now(&self) -> DateTime<Utc> {
        self.db.clock.now()
    }

    /// The dead letters of `queue`, oldest first (for operators and tests: the port has no
    /// read side for them).
    pub async fn dead_letters(&self, queue: QueueName) -> Result<Vec<DeadLetter>> {
        self.read("dead letters", move |c| {
            all(
                c,
                "SELECT id, body, receive_count, sent_at, dead_at FROM dead_letters WHERE queue = ?1
                 ORDER BY dead_at, id",
                [queue.as_str()],
                |row| {
                    Ok(DeadLetter {
                        id: row.get(0)?,
                        body: row.get(1)?,
                        receive_count: receive_count(row.get(2)?)?,
                        sent_at: from_micros(row.get(3)?)?,
                        dead_at: from_micros(row.get(4)?)?,
                    })
                },
            )
        })
        .await
    }
}

#[async_trait]
impl Queue for SqliteStore {
    async fn send(&self, queue: QueueName, messages: &[(String, Duration)]) -> PortResult<()> {
        let now = self.now();
        let messages = messages.to_vec();
        self.write("send messages", move |tx| {
            let mut insert = tx.prepare(
                "INSERT INTO queue_messages (id, queue, body, sent_at, visible_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (body, delay) in messages {
                let id = uuid::Uuid::now_v7().to_string();
                insert.execute(params![id, queue.as_str(), body, micros(now), after(now, delay)])?;
            }
            Ok(())
        })
        .await
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> PortResult<Vec<ReceivedMessage>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let now = self.now();
        let max_receives = self.db.options.max_receives;
        self.write("receive messages", move |tx| {
            // Every visible message that has used up its receives would be dead-lettered by
            // the receive that reaches it; moving them all first keeps the receive simple.
            let exhausted = "queue = ?1 AND visible_at <= ?2 AND receive_count >= ?3";
            tx.execute(
                &format!(
                    "INSERT INTO dead_letters (id, queue, body, sent_at, receive_count, dead_at)
                     SELECT id, queue, body, sent_at, receive_count, ?2 FROM queue_messages WHERE {exhausted}"
                ),
                params![queue.as_str(), micros(now), max_receives],
            )?;
            tx.execute(
                &format!("DELETE FROM queue_messages WHERE {exhausted}"),
                params![queue.as_str(), micros(now), max_receives],
            )?;
            let visible = all(
                tx,
                "SELECT seq, id, body, receive_count FROM queue_messages WHERE queue = ?1 AND visible_at <= ?2
                 ORDER BY visible_at, seq LIMIT ?3",
                params![queue.as_str(), micros(now), limit(max)],
                |row| Ok((row.get::<_, i64>(0)?, row.get(1)?, row.get(2)?, receive_count(row.get(3)?)?)),
            )?;
            let mut update = tx.prepare(
                "UPDATE queue_messages SET receipt = ?1, visible_at = ?2, receive_count = receive_count + 1
                 WHERE seq = ?3",
            )?;
            let mut received = Vec::with_capacity(visible.len());
            for (seq, id, body, count) in visible {
                let receipt = uuid::Uuid::new_v4().simple().to_string();
                update.execute(params![receipt, after(now, visibility), seq])?;
                received.push(ReceivedMessage { id, receipt, body, receive_count: count + 1 });
            }
            Ok(received)
        })
        .await
    }

    async fn delete(&self, queue: QueueName, receipt: &str) -> PortResult<()> {
        let receipt = receipt.to_owned();
        self.write("delete message", move |tx| {
            // A stale receipt (the message was received again since) matches nothing.
            tx.execute(
                "DELETE FROM queue_messages WHERE queue = ?1 AND receipt = ?2",
                params![queue.as_str(), receipt],
            )?;
            Ok(())
        })
        .await
    }

    async fn release(&self, queue: QueueName, receipt: &str, delay: Duration) -> PortResult<()> {
        let receipt = receipt.to_owned();
        let visible_at = after(self.now(), delay);
        self.write("release message", move |tx| {
            tx.execute(
                "UPDATE queue_messages SET visible_at = ?1 WHERE queue = ?2 AND receipt = ?3",
                params![visible_at, queue.as_str(), receipt],
            )?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::{Arc, Mutex};

    use chrono::TimeZone as _;
    use platform::ports::Clock;

    use super::*;
    use crate::sqlite::StoreOptions;

    struct Fixed(Mutex<DateTime<Utc>>);

    impl Clock for Fixed {
        fn now(&self) -> DateTime<Utc> {
            *self.0.lock().unwrap()
        }
    }

    #[tokio::test]
    async fn a_message_received_too_often_moves_to_the_dead_letters() {
        let dir = tempfile::tempdir().unwrap();
        let start = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        let clock = Arc::new(Fixed(Mutex::new(start)));
        let options = StoreOptions { max_receives: 2, ..StoreOptions::default() };
        let store = SqliteStore::open_with(dir.path(), clock.clone(), options).unwrap();
        store
            .send(
                QueueName::Bulk,
                &[("poison".into(), Duration::ZERO), ("fine".into(), Duration::ZERO)],
            )
            .await
            .unwrap();
        let visibility = Duration::from_secs(30);

        let first = store.receive(QueueName::Bulk, 10, visibility).await.unwrap();
        assert_eq!(first.len(), 2);
        let fine = first.iter().find(|m| m.body == "fine").unwrap();
        store.delete(QueueName::Bulk, &fine.receipt).await.unwrap();
        *clock.0.lock().unwrap() = start + chrono::Duration::seconds(30);
        let second = store.receive(QueueName::Bulk, 10, visibility).await.unwrap();
        assert_eq!((second.len(), second[0].receive_count), (1, 2));
        let dead_at = start + chrono::Duration::seconds(60);
        *clock.0.lock().unwrap() = dead_at;
        assert!(store.receive(QueueName::Bulk, 10, visibility).await.unwrap().is_empty());

        let dead = store.dead_letters(QueueName::Bulk).await.unwrap();
        assert_eq!(
            dead,
            vec![DeadLetter {
                id: first[0].id.clone(),
                body: "poison".into(),
                receive_count: 2,
                sent_at: start,
                dead_at
            }]
        );
        assert!(store.dead_letters(QueueName::Webhooks).await.unwrap().is_empty());
    }
}
