//! Group commit: the requests a process makes of Redis while its previous call of a script is on
//! the wire are sent together, as one call, instead of one call each.
//!
//! A flash sale opens with thousands of requests a second. Each script call costs Redis a
//! command dispatch and the script's setup, and costs this process a round trip; carried
//! together, N requests pay that once. Nothing waits on purpose: a request that finds nothing on
//! the wire is sent at once, so a lone request is as fast as before, and under load the calls
//! grow with the load. The scripts handle each request in arrival order with exactly the outcome
//! a call of its own would have had, so what a store answers does not depend on the grouping.
//!
//! This module holds the queue and its task; what goes into one call, and how, is the caller's
//! (the limiter's decisions, the queue's joins and ticket reads).

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

use crate::store_error::StoreError;

/// One request waiting to be sent, and where its reply goes.
pub struct Waiting<Req, Rep> {
    /// What was asked.
    pub request: Req,
    reply: oneshot::Sender<Result<Rep, StoreError>>,
}

impl<Req, Rep> Waiting<Req, Rep> {
    /// Whether the caller stopped waiting (its own timeout): it no longer reads the reply.
    pub fn gave_up(&self) -> bool {
        self.reply.is_closed()
    }
}

/// The way into one group commit; cloning it is cheap. Its task stops when the last clone is
/// dropped.
pub struct GroupCommit<Req, Rep> {
    sender: mpsc::UnboundedSender<Waiting<Req, Rep>>,
}

impl<Req, Rep> Clone for GroupCommit<Req, Rep> {
    fn clone(&self) -> Self {
        Self {
            sender: self.sender.clone(),
        }
    }
}

impl<Req: Send + 'static, Rep: Send + 'static> GroupCommit<Req, Rep> {
    /// Starts the task (inside a Tokio runtime) that hands `send` what has arrived, at most
    /// `most` requests at a time in arrival order, waits until it has answered them (see
    /// [`answer`]), and starts again with what arrived meanwhile.
    pub fn start<F, Fut>(most: usize, mut send: F) -> Self
    where
        F: FnMut(Vec<Waiting<Req, Rep>>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let (sender, mut receiver) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut arrived = Vec::with_capacity(most);
            while receiver.recv_many(&mut arrived, most).await > 0 {
                send(std::mem::take(&mut arrived)).await;
            }
        });
        Self { sender }
    }

    /// The reply to `request`, once the call carrying it is answered.
    pub async fn call(&self, request: Req) -> Result<Rep, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Waiting { request, reply })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("a group commit has stopped".into())
}

/// Hands each of one call's requests its reply, in order, or each the same error if the call
/// failed or answered a different number of replies.
pub fn answer<Req, Rep>(waiting: Vec<Waiting<Req, Rep>>, replies: Result<Vec<Rep>, StoreError>) {
    let count = waiting.len();
    let replies = replies.and_then(|replies| {
        if replies.len() == count {
            Ok(replies)
        } else {
            Err(StoreError::Corrupt(format!(
                "a grouped call answered {} replies for {count} requests",
                replies.len()
            )))
        }
    });
    match replies {
        Ok(replies) => {
            for (waiting, reply) in waiting.into_iter().zip(replies) {
                // A caller that gave up no longer listens; what it asked for stands all the same.
                let _ = waiting.reply.send(Ok(reply));
            }
        }
        Err(error) => {
            for waiting in waiting {
                let _ = waiting.reply.send(Err(error.clone()));
            }
        }
    }
}

/// `items` in groups of equal `key`, the groups in order of first arrival, each in arrival order.
pub fn group_by<T, K: PartialEq>(
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> &K,
) -> Vec<Vec<T>> {
    let mut groups: Vec<Vec<T>> = Vec::new();
    for item in items {
        match groups
            .iter_mut()
            .find(|group| group.first().is_some_and(|first| key(first) == key(&item)))
        {
            Some(group) => group.push(item),
            None => groups.push(vec![item]),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keep_the_order_of_first_arrival_and_of_arrival_within() {
        let groups = group_by([(1, 'a'), (2, 'b'), (1, 'c'), (3, 'd'), (2, 'e')], |x| &x.0);
        assert_eq!(
            groups,
            vec![
                vec![(1, 'a'), (1, 'c')],
                vec![(2, 'b'), (2, 'e')],
                vec![(3, 'd')]
            ]
        );
    }

    #[tokio::test]
    async fn requests_arriving_together_are_answered_in_one_call_each_with_its_own_reply() {
        let (calls, mut seen) = mpsc::unbounded_channel::<usize>();
        let commit = GroupCommit::<u32, u32>::start(8, move |waiting| {
            let calls = calls.clone();
            async move {
                let _ = calls.send(waiting.len());
                let replies = waiting.iter().map(|w| w.request * 10).collect();
                answer(waiting, Ok(replies));
            }
        });
        let replies = futures_join(&commit, (1..=5).collect::<Vec<u32>>()).await;
        assert_eq!(replies, vec![10, 20, 30, 40, 50]);
        let mut sizes = Vec::new();
        while let Ok(size) = seen.try_recv() {
            sizes.push(size);
        }
        assert_eq!(sizes.iter().sum::<usize>(), 5);
        assert!(sizes.len() < 5, "{sizes:?}");
    }

    #[tokio::test]
    async fn a_call_answering_too_few_replies_fails_every_request_of_it() {
        let commit = GroupCommit::<u32, u32>::start(8, |waiting| async move {
            answer(waiting, Ok(vec![1]));
        });
        let replies = tokio::join!(commit.call(1), commit.call(2));
        assert!(matches!(replies.0, Err(StoreError::Corrupt(_))));
        assert!(matches!(replies.1, Err(StoreError::Corrupt(_))));
    }

    /// Sends every request before awaiting any, so they arrive together.
    async fn futures_join(commit: &GroupCommit<u32, u32>, requests: Vec<u32>) -> Vec<u32> {
        let calls: Vec<_> = requests
            .into_iter()
            .map(|request| {
                let commit = commit.clone();
                tokio::spawn(async move { commit.call(request).await })
            })
            .collect();
        let mut replies = Vec::new();
        for call in calls {
            replies.push(call.await.unwrap().unwrap());
        }
        replies
    }
}
