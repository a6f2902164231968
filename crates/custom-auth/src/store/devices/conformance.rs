//! The rules every [`DeviceStore`] adapter must follow (with the device part of
//! [`crate::store::StateStore::admit`]), as one scripted run: the unit tests run it against
//! [`crate::store::MemoryStore`], the end-to-end test against DynamoDB. `prefix` keeps runs on
//! a shared table apart. Panics, naming the step, on the first difference.

use super::{DeviceStore, DeviceUse, Remembered, StoredDevice};
use crate::store::{Admission, Limits, OneTime, OneTimeKind, StateStore};

fn device(id: &[u8], now: u64) -> StoredDevice {
    StoredDevice {
        id: id.to_vec(),
        public_key: vec![0x30, 0x59, id[0]],
        name: format!("Laptop {}", id[0]),
        created_at: now,
        expires_at: now + 100,
    }
}

fn used(owner: &str, id: &[u8], challenge: &str, now: u64) -> OneTime {
    OneTime {
        key: format!("a#{owner}-{challenge}"),
        expires_at: now + 60,
        kind: OneTimeKind::DeviceUse(DeviceUse {
            owner: owner.to_owned(),
            id: id.to_vec(),
            now,
        }),
    }
}

/// Runs the script.
pub async fn check(store: &(impl DeviceStore + StateStore), prefix: &str) {
    let now = 1_767_225_600;
    let jane = format!("d#{prefix}-devices-jane");
    let ann = format!("d#{prefix}-devices-ann");
    let user = format!("u#{prefix}-devices-jane");
    let limits = Limits::default();
    let (a, b, c) = ([1u8; 16], [2u8; 16], [3u8; 16]);
    assert_eq!(store.devices(&jane).await, Ok(vec![]), "no devices yet");
    for (id, want) in [
        (a, Remembered::Added),
        (a, Remembered::Duplicate),
        (b, Remembered::Added),
        (c, Remembered::TooMany),
    ] {
        assert_eq!(
            store.remember(&jane, &device(&id, now), 2).await,
            Ok(want),
            "remember {} of at most 2",
            id[0]
        );
    }
    assert_eq!(
        store.remember(&ann, &device(&c, now), 2).await,
        Ok(Remembered::Added),
        "another person's devices are apart"
    );
    let mut listed = store.devices(&jane).await.expect("list");
    listed.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(
        listed,
        vec![device(&a, now), device(&b, now)],
        "listed as kept"
    );

    assert_eq!(
        store.rename_device(&jane, &a, "Work laptop").await,
        Ok(true)
    );
    assert_eq!(store.rename_device(&jane, &c, "Not hers").await, Ok(false));
    let names: Vec<String> = store
        .devices(&jane)
        .await
        .expect("list")
        .into_iter()
        .filter(|d| d.id == a)
        .map(|d| d.name)
        .collect();
    assert_eq!(names, ["Work laptop"], "renamed");

    // A use passes while the device is remembered, each challenge once.
    let admit = |record: OneTime| {
        let user = user.clone();
        async move { store.admit(&user, &[record], now, &limits).await }
    };
    assert_eq!(
        admit(used(&jane, &a, "one", now)).await,
        Ok(Admission::Admitted)
    );
    assert_eq!(
        admit(used(&jane, &a, "one", now)).await,
        Ok(Admission::Replayed),
        "a challenge once"
    );
    assert_eq!(
        admit(used(&jane, &c, "two", now)).await,
        Ok(Admission::Replayed),
        "another person's device"
    );
    assert_eq!(
        admit(used(&jane, &a, "three", now + 100)).await,
        Ok(Admission::Replayed),
        "an expired device"
    );
    // Forgetting takes effect at once.
    assert_eq!(store.forget_device(&jane, &a).await, Ok(true));
    assert_eq!(store.forget_device(&jane, &a).await, Ok(false), "forgotten");
    assert_eq!(
        admit(used(&jane, &a, "four", now)).await,
        Ok(Admission::Replayed),
        "a forgotten device"
    );
    assert_eq!(
        admit(used(&jane, &b, "five", now)).await,
        Ok(Admission::Admitted)
    );
    assert_eq!(
        store.remember(&jane, &device(&c, now), 2).await,
        Ok(Remembered::Added),
        "a forgotten device frees its place"
    );
    assert_eq!(store.forget_devices(&jane).await, Ok(()));
    assert_eq!(store.devices(&jane).await, Ok(vec![]), "all forgotten");
    assert_eq!(
        admit(used(&jane, &b, "six", now)).await,
        Ok(Admission::Replayed),
        "after forgetting all"
    );
    assert_eq!(
        store.forget_devices(&jane).await,
        Ok(()),
        "nothing to forget"
    );
    assert_eq!(
        store.devices(&ann).await.map(|d| d.len()),
        Ok(1),
        "ann's kept"
    );
}
