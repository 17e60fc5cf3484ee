use std::sync::Arc;
use std::time::{Duration, Instant};
use capstan_store::{SqliteStore, Store};
use futures::StreamExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_creates() {
    let dir = tempfile::tempdir().unwrap();
    let s: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("b.db")).unwrap());
    // preload 10k keys
    let value = vec![b'x'; 1024];
    for i in 0..10_000 { s.create(&format!("/registry/pods/pre/{i:06}"), value.clone()).await.unwrap(); }
    let mut w = s.watch("/registry/pods/", s.current_revision().await.unwrap()).await.unwrap();
    let watcher = tokio::spawn(async move { let mut n = 0; while let Some(e) = w.next().await { e.unwrap(); n += 1; if n == 32_000 { break; } } n });
    let tasks = 64; let per = 500;
    let t0 = Instant::now();
    let hs: Vec<_> = (0..tasks).map(|t| { let s = s.clone(); let value = value.clone(); tokio::spawn(async move {
        let mut lat = Vec::with_capacity(per);
        for i in 0..per { let st = Instant::now(); s.create(&format!("/registry/pods/ns{t}/{i:06}"), value.clone()).await.unwrap(); lat.push(st.elapsed()); }
        lat }) }).collect();
    let mut lat: Vec<Duration> = Vec::new();
    for h in hs { lat.extend(h.await.unwrap()); }
    let el = t0.elapsed();
    lat.sort();
    let n = lat.len();
    println!("creates={n} elapsed={el:?} rate={:.0}/s p50={:?} p99={:?} max={:?}", n as f64 / el.as_secs_f64(), lat[n/2], lat[n*99/100], lat[n-1]);
    let rev0 = s.current_revision().await.unwrap() - 100;
    let t1 = Instant::now();
    let page = s.list("/registry/pods/", None, 500, None).await.unwrap();
    println!("list 500 of {} took {:?}", page.remaining.unwrap() + 500, t1.elapsed());
    let t1 = Instant::now();
    let page = s.list("/registry/pods/", None, 500, None).await.unwrap();
    println!("again list 500 of {} took {:?}", page.remaining.unwrap() + 500, t1.elapsed());
    let t1 = Instant::now();
    let c = s.count("/registry/pods/").await.unwrap();
    println!("count {c} took {:?}", t1.elapsed());
    let t1 = Instant::now();
    let page = s.list("/registry/pods/", Some("/registry/pods/ns5/"), 500, Some(rev0)).await.unwrap();
    println!("old-rev page list 500 of {} took {:?}", page.remaining.unwrap() + 500, t1.elapsed());
    let t1 = Instant::now();
    let all = s.list("/registry/pods/", None, 0, None).await.unwrap();
    println!("list all {} took {:?}", all.items.len(), t1.elapsed());
    let t1 = Instant::now();
    for i in 0..1000 { s.get(&format!("/registry/pods/pre/{i:06}")).await.unwrap().unwrap(); }
    println!("1000 gets took {:?}", t1.elapsed());
    let t1 = Instant::now();
    let rev = s.current_revision().await.unwrap();
    s.compact(rev).await.unwrap();
    println!("compact took {:?}", t1.elapsed());
    drop(s);
    let got = tokio::time::timeout(Duration::from_secs(30), watcher).await;
    println!("watcher got {:?}", got.map(|r| r.unwrap()));
}
