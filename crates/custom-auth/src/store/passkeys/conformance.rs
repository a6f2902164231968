//! The rules every [`PasskeyStore`] adapter must follow (with the passkey part of
//! [`crate::store::StateStore::admit`]), as one scripted run: the unit tests run it against
//! [`MemoryStore`], the end-to-end test against DynamoDB. `prefix` keeps runs on a shared table
//! apart. Panics, naming the step, on the first difference.

use super::{Added, Discovered, Holder, PasskeyStore, PasskeyUse, StoredPasskey};
use crate::store::{Admission, Limits, OneTime, StateStore};

fn passkey(id: &[u8], sign_count: u32) -> StoredPasskey {
    StoredPasskey {
        id: id.to_vec(),
        public_key: vec![1, 2, 3, id[0]],
        dynamic: vec![1, 0, sign_count as u8, 0, 0, 0, 1],
        sign_count,
        transports: vec![4],
        name: format!("Key {}", id[0]),
        created_at: 1_767_225_600 + u64::from(id[0]),
        last_used_at: None,
    }
}

fn holder(prefix: &str, name: &str) -> Holder {
    Holder {
        user: format!("{prefix}-{name}"),
        handle: format!("handle of {name}").into_bytes(),
    }
}

fn used(owner: &str, id: &[u8], sign_count: u32, challenge: &str, now: u64) -> OneTime {
    OneTime {
        key: format!("a#{owner}-{challenge}"),
        expires_at: now + 60,
        kind: crate::store::OneTimeKind::PasskeyUse(PasskeyUse {
            owner: owner.to_owned(),
            id: id.to_vec(),
            sign_count,
            dynamic: vec![1, 0, sign_count as u8, 0, 0, 0, 1],
            used_at: now,
        }),
    }
}

/// Runs the script.
pub async fn check(store: &(impl PasskeyStore + StateStore), prefix: &str) {
    let now = 1_767_225_600;
    let jane = format!("p#{prefix}-passkeys-jane");
    let ann = format!("p#{prefix}-passkeys-ann");
    let user = format!("u#{prefix}-passkeys-jane");
    let limits = Limits::default();
    let a = [1u8, 0xaa, 0xbb];
    let b = [2u8, 0xcc];
    let (jane_holds, ann_holds) = (holder(prefix, "jane"), holder(prefix, "ann"));
    assert_eq!(store.passkeys(&jane).await, Ok(vec![]), "no passkeys yet");

    assert_eq!(
        store
            .add_passkey(&jane, &passkey(&a, 1), &jane_holds, 2)
            .await,
        Ok(Added::Added),
        "add"
    );
    assert_eq!(
        store
            .add_passkey(&jane, &passkey(&a, 1), &jane_holds, 2)
            .await,
        Ok(Added::Duplicate),
        "the same id again"
    );
    assert_eq!(
        store
            .add_passkey(&ann, &passkey(&a, 1), &ann_holds, 2)
            .await,
        Ok(Added::Duplicate),
        "the same id for another user"
    );
    assert_eq!(
        store
            .add_passkey(&jane, &passkey(&b, 0), &jane_holds, 2)
            .await,
        Ok(Added::Added),
        "a second"
    );
    assert_eq!(
        store
            .add_passkey(&jane, &passkey(&[3, 3], 0), &jane_holds, 2)
            .await,
        Ok(Added::TooMany),
        "over the limit"
    );
    // Found by its id alone, with who holds it; an id nobody registered finds nothing.
    assert_eq!(
        store.discover(&a).await,
        Ok(Some(Discovered {
            owner: jane.clone(),
            holder: jane_holds.clone(),
            public_key: passkey(&a, 1).public_key,
            dynamic: passkey(&a, 1).dynamic,
        })),
        "discover a"
    );
    assert_eq!(
        store.discover(&[9, 9, 9]).await,
        Ok(None),
        "discover no one's"
    );
    let held = store.passkeys(&jane).await.expect("list");
    assert_eq!(
        held,
        vec![passkey(&a, 1), passkey(&b, 0)],
        "listed as added"
    );
    assert_eq!(
        store.passkeys(&ann).await,
        Ok(vec![]),
        "none of Jane's are Ann's"
    );

    // Uses: the counter must grow (a keeps one), or stay zero (b keeps none); each
    // challenge once.
    let admit = |record: OneTime| {
        let user = user.clone();
        async move {
            store
                .admit(&user, std::slice::from_ref(&record), now, &limits)
                .await
        }
    };
    assert_eq!(
        admit(used(&jane, &a, 2, "c1", now)).await,
        Ok(Admission::Admitted),
        "use a at 2"
    );
    assert_eq!(
        admit(used(&jane, &a, 5, "c1", now)).await,
        Ok(Admission::Replayed),
        "challenge again"
    );
    assert_eq!(
        admit(used(&jane, &a, 2, "c2", now)).await,
        Ok(Admission::Replayed),
        "counter 2 again"
    );
    assert_eq!(
        admit(used(&jane, &a, 0, "c3", now)).await,
        Ok(Admission::Replayed),
        "counter reset to 0"
    );
    assert_eq!(
        admit(used(&jane, &a, 3, "c4", now + 5)).await,
        Ok(Admission::Admitted),
        "use a at 3"
    );
    assert_eq!(
        admit(used(&jane, &b, 0, "c5", now)).await,
        Ok(Admission::Admitted),
        "b at 0"
    );
    assert_eq!(
        admit(used(&jane, &b, 0, "c6", now)).await,
        Ok(Admission::Admitted),
        "b at 0 again"
    );
    assert_eq!(
        admit(used(&ann, &a, 9, "c7", now)).await,
        Ok(Admission::Replayed),
        "a as Ann's"
    );
    let held = store.passkeys(&jane).await.expect("list");
    assert_eq!(held[0].sign_count, 3, "a's counter written");
    assert_eq!(
        held[0].dynamic,
        used(&jane, &a, 3, "", 0)
            .passkey()
            .map(|p| p.dynamic.clone())
            .unwrap_or_default()
    );
    assert_eq!(held[0].last_used_at, Some(now + 5), "a's last use written");

    assert_eq!(
        store.remove_passkey(&ann, &a).await,
        Ok(false),
        "Ann cannot remove Jane's"
    );
    assert_eq!(store.remove_passkey(&jane, &a).await, Ok(true), "remove");
    assert_eq!(
        store.remove_passkey(&jane, &a).await,
        Ok(false),
        "remove again"
    );
    assert_eq!(
        admit(used(&jane, &a, 10, "c8", now)).await,
        Ok(Admission::Replayed),
        "use after removal"
    );
    assert_eq!(
        store.passkeys(&jane).await.map(|p| p.len()),
        Ok(1),
        "one left"
    );
    assert_eq!(
        store.discover(&a).await,
        Ok(None),
        "a removed passkey is not found"
    );
    assert_eq!(
        store
            .add_passkey(&ann, &passkey(&a, 1), &ann_holds, 2)
            .await,
        Ok(Added::Added),
        "a removed id may be registered again"
    );
    assert_eq!(
        store
            .discover(&a)
            .await
            .map(|d| d.map(|d| (d.owner, d.holder))),
        Ok(Some((ann.clone(), ann_holds.clone()))),
        "found as Ann's now"
    );
    assert_eq!(store.remove_passkey(&ann, &a).await, Ok(true));
    assert_eq!(store.remove_passkey(&jane, &b).await, Ok(true));

    // Pending registrations: taken once, not after they expire, the newest only.
    assert_eq!(
        store.take_registration(&jane, now).await,
        Ok(None),
        "none pending"
    );
    store
        .begin_registration(&jane, "state-1", now + 60)
        .await
        .expect("begin");
    store
        .begin_registration(&jane, "state-2", now + 60)
        .await
        .expect("begin again");
    assert_eq!(
        store.take_registration(&jane, now).await,
        Ok(Some("state-2".into())),
        "the newest"
    );
    assert_eq!(
        store.take_registration(&jane, now).await,
        Ok(None),
        "taken once"
    );
    store
        .begin_registration(&jane, "state-3", now + 60)
        .await
        .expect("begin");
    assert_eq!(
        store.take_registration(&jane, now + 60).await,
        Ok(None),
        "expired"
    );
    assert_eq!(
        store.take_registration(&jane, now).await,
        Ok(None),
        "an expired take removes it"
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_memory_store_conforms() {
        let store = crate::store::MemoryStore::default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime.block_on(super::check(&store, "mem"));
    }
}
