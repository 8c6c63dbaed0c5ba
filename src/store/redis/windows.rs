//! The Redis store's record of arrival windows: each window's entrants, read a page at a time
//! (`lua/window.lua` writes them as joins are placed; `lua/window_page.lua` reads them).

use super::{RedisStore, event_key_prefix, replies, unexpected};
use crate::domain::{DrawPageRequest, EventId, WindowPage};
use crate::store::StoreError;

impl RedisStore {
    /// A page of window `window`'s entrants; `None` when the cursor is not one of them.
    pub(super) async fn read_window_page(
        &self,
        event: &EventId,
        window: u64,
        request: DrawPageRequest,
    ) -> Result<Option<WindowPage>, StoreError> {
        let key = format!("{}wz:{window}", event_key_prefix(event));
        let mut invocation = self.scripts.window_page.key(key);
        let cursor = request
            .after
            .map(|ticket| ticket.0.as_bytes().to_vec())
            .unwrap_or_default();
        invocation.arg(cursor).arg(request.limit);
        let (kind, mut rest) = replies::tagged(self.run(&invocation).await?)?;
        match kind.as_str() {
            "page" => {}
            "unknown_cursor" => return Ok(None),
            other => return Err(unexpected(other, "window_page")),
        }
        let entrants_total = replies::count(replies::nth(&mut rest, 0)?)?;
        let from = replies::count(replies::nth(&mut rest, 1)?)?;
        let entrants = replies::array(replies::nth(&mut rest, 2)?)?
            .into_iter()
            .map(replies::ticket_id)
            .collect::<Result<Vec<_>, _>>()?;
        let more = from + (entrants.len() as u64) < entrants_total;
        Ok(Some(WindowPage {
            entrants_total,
            next: more.then(|| entrants.last().copied()).flatten(),
            entrants,
        }))
    }
}
