//! Signing throughput (issue "The remote client"): one SDK-HMAC-SHA256 signature of a typical
//! COC request (a list with a query, the four signed headers, no body) and one TC3 signature of
//! a TAT action. Target: ≥200 000 Huawei signatures/s on one core.
//! `cargo bench --bench signing`

use std::hint::black_box;

use cocpit::sign::{huawei, tencent};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn headers() -> Vec<(String, String)> {
    vec![
        ("Content-Type".into(), "application/json".into()),
        ("Host".into(), "coc.myhuaweicloud.com".into()),
        ("X-Sdk-Date".into(), "20261124T093000Z".into()),
        (
            "X-Project-Id".into(),
            "0123456789abcdef0123456789abcdef".into(),
        ),
    ]
}

fn signing(c: &mut Criterion) {
    let mut g = c.benchmark_group("sign");
    g.throughput(Throughput::Elements(1));
    let h = headers();
    g.bench_function("huawei_list_orders", |b| {
        b.iter(|| {
            huawei::authorization(
                black_box("HPUAEXAMPLEAK12345"),
                black_box("example-secret-key-0123456789abcdefghij"),
                "GET",
                black_box("/v1/job/script/orders"),
                black_box("limit=100&marker=0&status=PROCESSING"),
                &h,
                b"",
            )
        })
    });
    let body = br#"{"Limit":20,"Offset":0,"InvokerIds":["ivk-abcdefgh"]}"#;
    let th = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("Host".to_string(), "tat.tencentcloudapi.com".to_string()),
    ];
    g.bench_function("tencent_describe_invokers", |b| {
        b.iter(|| {
            tencent::authorization(
                black_box("AKIDEXAMPLE"),
                black_box("example-secret-key"),
                "tat",
                1_764_000_000,
                "POST",
                "",
                &th,
                black_box(body),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, signing);
criterion_main!(benches);
