//! The simulated shop: twelve services on Kubernetes, each with a few
//! pods, an SDK in its own language and the instrumentation libraries that
//! language's auto-instrumentation uses. Resources and scopes are built once
//! and cloned into every request, as an SDK's exporter does.

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, any_value::Value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Svc {
    Frontend,
    Auth,
    Checkout,
    Cart,
    Payment,
    Catalog,
    Currency,
    Shipping,
    Recommendation,
    Email,
    Accounting,
    DbProxy,
}

pub const SERVICES: usize = 12;

impl Svc {
    pub const ALL: [Svc; SERVICES] = [
        Svc::Frontend,
        Svc::Auth,
        Svc::Checkout,
        Svc::Cart,
        Svc::Payment,
        Svc::Catalog,
        Svc::Currency,
        Svc::Shipping,
        Svc::Recommendation,
        Svc::Email,
        Svc::Accounting,
        Svc::DbProxy,
    ];

    fn spec(self) -> &'static Spec {
        &SPECS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The in-cluster DNS name peers dial, recorded on client spans.
    pub fn host(self) -> String {
        format!(
            "{}.{}.svc.cluster.local",
            self.spec().name,
            self.spec().namespace
        )
    }

    pub fn port(self) -> i64 {
        self.spec().port
    }

    pub fn lang(self) -> Lang {
        self.spec().lang
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Node,
    Python,
    Go,
    DotNet,
    Cpp,
    Rust,
    Ruby,
    Java,
}

/// Which instrumentation made a span; each is its own OTLP scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lib {
    HttpServer,
    HttpClient,
    GrpcServer,
    GrpcClient,
    Sql,
    Redis,
    Kafka,
    Manual,
}

const LIBS: usize = 8;

struct Spec {
    name: &'static str,
    namespace: &'static str,
    lang: Lang,
    version: &'static str,
    replicas: u16,
    port: i64,
}

const fn spec(
    name: &'static str,
    namespace: &'static str,
    lang: Lang,
    version: &'static str,
    replicas: u16,
    port: i64,
) -> Spec {
    Spec {
        name,
        namespace,
        lang,
        version,
        replicas,
        port,
    }
}

const SPECS: [Spec; SERVICES] = [
    spec("frontend", "web", Lang::Node, "2.14.3", 3, 8080),
    spec("auth", "identity", Lang::Python, "1.8.0", 2, 8000),
    spec("checkout", "shop", Lang::Go, "3.2.1", 2, 5050),
    spec("cart", "shop", Lang::DotNet, "1.21.0", 3, 7070),
    spec("payment", "payments", Lang::Node, "0.9.12", 2, 50051),
    spec("product-catalog", "shop", Lang::Go, "4.0.2", 3, 3550),
    spec("currency", "shop", Lang::Cpp, "1.3.0", 2, 7001),
    spec("shipping", "shop", Lang::Rust, "0.7.4", 2, 50050),
    spec("recommendation", "shop", Lang::Python, "2.5.0", 2, 9001),
    spec("email", "notifications", Lang::Ruby, "1.1.9", 1, 6060),
    spec("accounting", "finance", Lang::Java, "0.4.0", 1, 8080),
    spec("db-proxy", "data", Lang::Go, "1.12.5", 2, 6432),
];

/// (SDK version, runtime name, runtime version) per language.
fn runtime(lang: Lang) -> (&'static str, &'static str, &'static str) {
    match lang {
        Lang::Node => ("1.25.1", "nodejs", "20.15.1"),
        Lang::Python => ("1.25.0", "cpython", "3.12.4"),
        Lang::Go => ("1.28.0", "go", "go1.22.5"),
        Lang::DotNet => ("1.9.0", ".NET", "8.0.7"),
        Lang::Cpp => ("1.16.1", "", ""),
        Lang::Rust => ("0.23.0", "rustc", "1.79.0"),
        Lang::Ruby => ("1.4.0", "ruby", "3.3.4"),
        Lang::Java => ("1.40.0", "OpenJDK Runtime Environment", "21.0.4+7-LTS"),
    }
}

fn lang_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Node => "nodejs",
        Lang::Python => "python",
        Lang::Go => "go",
        Lang::DotNet => "dotnet",
        Lang::Cpp => "cpp",
        Lang::Rust => "rust",
        Lang::Ruby => "ruby",
        Lang::Java => "java",
    }
}

/// The scope name and version the language's usual instrumentation for
/// `lib` reports. Languages without auto-instrumentation (C++, Rust) use
/// one tracer for everything, as their services do.
fn scope_name(svc: Svc, lib: Lib) -> (String, String) {
    let own = || (svc.name().to_owned(), svc.spec().version.to_owned());
    let (name, version) = match (svc.lang(), lib) {
        (_, Lib::Manual) | (Lang::Cpp, _) => return own(),
        (Lang::Rust, _) => ("tracing-opentelemetry", "0.24.0"),
        (Lang::Node, Lib::HttpServer | Lib::HttpClient) => {
            ("@opentelemetry/instrumentation-http", "0.52.1")
        }
        (Lang::Node, Lib::GrpcServer | Lib::GrpcClient) => {
            ("@opentelemetry/instrumentation-grpc", "0.52.1")
        }
        (Lang::Node, Lib::Sql) => ("@opentelemetry/instrumentation-pg", "0.43.0"),
        (Lang::Node, Lib::Redis) => ("@opentelemetry/instrumentation-ioredis", "0.42.0"),
        (Lang::Node, Lib::Kafka) => ("@opentelemetry/instrumentation-kafkajs", "0.2.0"),
        (Lang::Python, Lib::HttpServer) => ("opentelemetry.instrumentation.flask", "0.46b0"),
        (Lang::Python, Lib::HttpClient) => ("opentelemetry.instrumentation.requests", "0.46b0"),
        (Lang::Python, Lib::GrpcServer | Lib::GrpcClient) => {
            ("opentelemetry.instrumentation.grpc", "0.46b0")
        }
        (Lang::Python, Lib::Sql) => ("opentelemetry.instrumentation.psycopg2", "0.46b0"),
        (Lang::Python, Lib::Redis) => ("opentelemetry.instrumentation.redis", "0.46b0"),
        (Lang::Python, Lib::Kafka) => ("opentelemetry.instrumentation.kafka", "0.46b0"),
        (Lang::Go, Lib::HttpServer | Lib::HttpClient) => (
            "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
            "0.53.0",
        ),
        (Lang::Go, Lib::GrpcServer | Lib::GrpcClient) => (
            "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc",
            "0.53.0",
        ),
        (Lang::Go, Lib::Sql) => ("github.com/exaring/otelpgx", "0.6.2"),
        (Lang::Go, Lib::Redis) => ("github.com/redis/go-redis/extra/redisotel", "9.5.3"),
        (Lang::Go, Lib::Kafka) => (
            "go.opentelemetry.io/contrib/instrumentation/github.com/IBM/sarama/otelsarama",
            "0.43.0",
        ),
        (Lang::DotNet, Lib::HttpServer | Lib::GrpcServer) => ("Microsoft.AspNetCore", ""),
        (Lang::DotNet, Lib::HttpClient) => ("System.Net.Http", ""),
        (Lang::DotNet, Lib::GrpcClient) => ("Grpc.Net.Client", "2.63.0"),
        (Lang::DotNet, Lib::Sql) => ("Npgsql", "8.0.3"),
        (Lang::DotNet, Lib::Redis) => (
            "OpenTelemetry.Instrumentation.StackExchangeRedis",
            "1.0.0-rc9.15",
        ),
        (Lang::DotNet, Lib::Kafka) => ("Confluent.Kafka.Extensions.OpenTelemetry", "0.4.0"),
        (Lang::Ruby, Lib::HttpServer) => ("OpenTelemetry::Instrumentation::Sinatra", "0.24.0"),
        (Lang::Ruby, Lib::HttpClient) => ("OpenTelemetry::Instrumentation::Net::HTTP", "0.22.6"),
        (Lang::Ruby, _) => ("OpenTelemetry::Instrumentation::GRPC", "0.1.1"),
        (Lang::Java, Lib::HttpServer) => ("io.opentelemetry.spring-webmvc-6.0", "2.6.0-alpha"),
        (Lang::Java, Lib::HttpClient) => ("io.opentelemetry.java-http-client", "2.6.0-alpha"),
        (Lang::Java, Lib::GrpcServer | Lib::GrpcClient) => {
            ("io.opentelemetry.grpc-1.6", "2.6.0-alpha")
        }
        (Lang::Java, Lib::Sql) => ("io.opentelemetry.jdbc", "2.6.0-alpha"),
        (Lang::Java, Lib::Redis) => ("io.opentelemetry.lettuce-5.1", "2.6.0-alpha"),
        (Lang::Java, Lib::Kafka) => ("io.opentelemetry.kafka-clients-0.11", "2.6.0-alpha"),
    };
    (name.to_owned(), version.to_owned())
}

pub fn kv(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

pub fn kv_int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

/// One pod of a service.
pub struct Instance {
    pub resource: Resource,
}

pub struct Topology {
    pub instances: Vec<Instance>,
    first: [u16; SERVICES],
    scopes: Vec<InstrumentationScope>,
}

/// The alphabet Kubernetes draws ReplicaSet and pod suffixes from.
const K8S_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const NODES: u64 = 6;

impl Topology {
    pub fn new(seed: u64) -> Self {
        // Its own lane, so pod names do not shift when trace drawing changes.
        let mut rng = Rng::lane(seed, u64::MAX);
        let nodes: Vec<String> = (0..NODES)
            .map(|_| {
                format!(
                    "ip-10-0-{}-{}.eu-west-1.compute.internal",
                    rng.between(1, 3) * 16 + rng.below(16),
                    rng.between(2, 254)
                )
            })
            .collect();
        let mut instances = Vec::new();
        let mut first = [0u16; SERVICES];
        for svc in Svc::ALL {
            let spec = svc.spec();
            first[svc as usize] = instances.len() as u16;
            let replica_set = rng.word(K8S_ALPHABET, 10);
            for _ in 0..spec.replicas {
                let pod = format!("{}-{replica_set}-{}", spec.name, rng.word(K8S_ALPHABET, 5));
                let node = nodes
                    .get(rng.below(NODES) as usize)
                    .cloned()
                    .unwrap_or_default();
                let resource = resource(svc, &pod, &node, &mut rng);
                instances.push(Instance { resource });
            }
        }
        let scopes = Svc::ALL
            .iter()
            .flat_map(|&svc| {
                [
                    Lib::HttpServer,
                    Lib::HttpClient,
                    Lib::GrpcServer,
                    Lib::GrpcClient,
                    Lib::Sql,
                    Lib::Redis,
                    Lib::Kafka,
                    Lib::Manual,
                ]
                .map(|lib| {
                    let (name, version) = scope_name(svc, lib);
                    InstrumentationScope {
                        name,
                        version,
                        ..Default::default()
                    }
                })
            })
            .collect();
        Self {
            instances,
            first,
            scopes,
        }
    }

    /// How many pods `svc` runs.
    pub fn replicas(svc: Svc) -> u64 {
        u64::from(svc.spec().replicas)
    }

    /// The instance index of `svc`'s pod number `replica`.
    pub fn instance(&self, svc: Svc, replica: u64) -> u16 {
        let replica = replica.min(Self::replicas(svc).saturating_sub(1)) as u16;
        self.first[svc as usize] + replica
    }

    /// The scope index of `lib` within `svc`.
    pub fn scope_index(svc: Svc, lib: Lib) -> u16 {
        (svc as usize * LIBS + lib as usize) as u16
    }

    pub fn scope(&self, index: u16) -> Option<&InstrumentationScope> {
        self.scopes.get(usize::from(index))
    }
}

fn resource(svc: Svc, pod: &str, node: &str, rng: &mut Rng) -> Resource {
    let spec = svc.spec();
    let (sdk, runtime_name, runtime_version) = runtime(spec.lang);
    let uuid = format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        rng.next_u64() as u32,
        rng.below(1 << 16),
        rng.below(1 << 12),
        0x8000 | rng.below(1 << 14),
        rng.below(1 << 48)
    );
    let mut attributes = vec![
        kv("service.name", spec.name),
        kv("service.namespace", spec.namespace),
        kv("service.version", spec.version),
        kv("service.instance.id", uuid),
        kv("deployment.environment.name", "production"),
        kv("k8s.cluster.name", "prod-eu-west-1"),
        kv("k8s.namespace.name", spec.namespace),
        kv("k8s.deployment.name", spec.name),
        kv("k8s.pod.name", pod),
        kv("k8s.node.name", node),
        kv("host.name", node),
        kv("host.arch", "amd64"),
        kv("os.type", "linux"),
        kv("cloud.provider", "aws"),
        kv("cloud.region", "eu-west-1"),
        kv("telemetry.sdk.name", "opentelemetry"),
        kv("telemetry.sdk.language", lang_name(spec.lang)),
        kv("telemetry.sdk.version", sdk),
    ];
    if !runtime_name.is_empty() {
        attributes.push(kv("process.runtime.name", runtime_name));
        attributes.push(kv("process.runtime.version", runtime_version));
        attributes.push(kv_int("process.pid", rng.between(1, 40) as i64));
    }
    Resource {
        attributes,
        ..Default::default()
    }
}
