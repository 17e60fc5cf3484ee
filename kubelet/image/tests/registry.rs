//! Pulls from a real registry (Debian's docker-registry on loopback).

use std::path::Path;
use std::time::Instant;

use base64::Engine;
use capstan_image::testing::{Registry, push_layout, push_layout_image};
use capstan_image::{
    ImageError, ImageStore, PullOptions, RegistryAuth, auth_from_docker_config, demo,
};

/// Needs the registry and busybox; in CI their absence is a failure (.ci/run installs them).
fn prerequisites() -> bool {
    let missing: Vec<&str> = [
        (!Registry::is_available()).then_some(capstan_image::testing::REGISTRY_BINARY),
        (!Path::new(demo::BUSYBOX_PATH).exists()).then_some(demo::BUSYBOX_PATH),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI must install docker-registry and busybox-static (missing: {missing:?})"
    );
    eprintln!("skipping: missing {missing:?}");
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_then_pull_the_demo_busybox_image() {
    if !prerequisites() {
        return;
    }
    let registry = Registry::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    demo::build_busybox_layout(&layout, "capstan.local/busybox:1.35").unwrap();
    let reference = format!("{}/demo/busybox:1.35", registry.host());
    let pushed_digest = push_layout(&layout, &reference).await.unwrap();

    let store = ImageStore::open(&tmp.path().join("store")).unwrap();
    let opts = PullOptions::default();
    let started = Instant::now();
    let image = store
        .pull(&reference, &RegistryAuth::Anonymous, &opts)
        .await
        .unwrap();
    let first_pull = started.elapsed();

    assert_eq!(image.reference, reference);
    assert_eq!(image.digest, pushed_digest);
    assert_eq!(image.config.cmd, ["sh"]);
    assert!(image.layers[0].join("bin/busybox").is_file());
    assert_eq!(store.lookup(&reference).unwrap().id, image.id);

    // Everything is present now: the second pull only asks for the manifest.
    let started = Instant::now();
    let again = store
        .pull(&reference, &RegistryAuth::Anonymous, &opts)
        .await
        .unwrap();
    let second_pull = started.elapsed();
    assert_eq!(again.id, image.id);
    eprintln!(
        "pull of the demo busybox image from a loopback registry: first {first_pull:?}, again {second_pull:?}"
    );

    // By digest, too.
    let by_digest = format!("{}/demo/busybox@{}", registry.host(), image.digest);
    let pinned = store
        .pull(&by_digest, &RegistryAuth::Anonymous, &opts)
        .await
        .unwrap();
    assert_eq!(pinned.id, image.id);
    assert_eq!(
        std::fs::read_dir(store.root().join("layers"))
            .unwrap()
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pulls_of_one_image_share_the_work() {
    if !prerequisites() {
        return;
    }
    let registry = Registry::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    demo::build_busybox_layout(&layout, "capstan.local/busybox:1.35").unwrap();
    let reference = format!("{}/demo/busybox:1.35", registry.host());
    push_layout(&layout, &reference).await.unwrap();

    let store = ImageStore::open(&tmp.path().join("store")).unwrap();
    let opts = PullOptions::default();
    let pulls = (0..4).map(|_| store.pull(&reference, &RegistryAuth::Anonymous, &opts));
    let images = futures::future::join_all(pulls).await;
    let ids: Vec<String> = images.into_iter().map(|r| r.unwrap().id).collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(
        std::fs::read_dir(store.root().join("layers"))
            .unwrap()
            .count(),
        1
    );
    assert_eq!(
        std::fs::read_dir(store.root().join("tmp")).unwrap().count(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_the_registry_message() {
    if !prerequisites() {
        return;
    }
    let registry = Registry::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let store = ImageStore::open(&tmp.path().join("store")).unwrap();
    let opts = PullOptions::default();

    let missing = format!("{}/demo/nothing:here", registry.host());
    let error = store
        .pull(&missing, &RegistryAuth::Anonymous, &opts)
        .await
        .unwrap_err();
    assert!(matches!(error, ImageError::Registry { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("manifest unknown"), "{message}");
    assert!(message.contains(&missing), "{message}");
    eprintln!("missing tag: {message}");

    // Nothing listens on port 1.
    let error = store
        .pull(
            "127.0.0.1:1/demo/busybox:1",
            &RegistryAuth::Anonymous,
            &opts,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.to_lowercase().contains("connection refused"),
        "{error}"
    );
    eprintln!("refused: {error}");
    assert!(store.list().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_registry_needs_the_secret_credentials() {
    if !prerequisites() {
        return;
    }
    let registry = Registry::start_with_basic_auth().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    demo::build_busybox_layout(&layout, "capstan.local/busybox:1.35").unwrap();
    let reference = format!("{}/private/busybox:1", registry.host());
    push_layout_image(
        &layout,
        Some("capstan.local/busybox:1.35"),
        &reference,
        &registry.auth(),
    )
    .await
    .unwrap();

    let store = ImageStore::open(&tmp.path().join("store")).unwrap();
    let opts = PullOptions::default();
    let error = store
        .pull(&reference, &RegistryAuth::Anonymous, &opts)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("unauthorized"), "{error}");
    eprintln!("anonymous on auth registry: {error}");

    // The way the kubelet gets credentials: from an imagePullSecret's .dockerconfigjson.
    let RegistryAuth::Basic { username, password } = registry.auth() else {
        panic!("basic-auth registry without credentials");
    };
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    let secret = format!(
        r#"{{"auths":{{"{}":{{"auth":"{encoded}"}}}}}}"#,
        registry.host()
    );
    let auth = auth_from_docker_config(secret.as_bytes(), &registry.host()).unwrap();
    let image = store.pull(&reference, &auth, &opts).await.unwrap();
    assert!(image.layers[0].join("bin/busybox").is_file());
}
