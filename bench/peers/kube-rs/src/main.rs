//! The kube-rs peer of the benchmark: the same BenchParent semantics as
//! bench/operon-operator.ts, written the way kube-rs's own examples write a controller.
//!
//!   - `Controller::new(parents).owns(config_maps).owns(secrets)`, no predicates (the stable API
//!     has none on the main stream), every watcher with its default `watcher::Config`;
//!   - both children written with server-side apply (`Patch::Apply`, forced, one field manager)
//!     on every reconcile, as kube-rs's examples do: apply is idempotent on the server;
//!   - the status written with server-side apply on `/status` when it differs from the cached
//!     parent's;
//!   - `Action::await_change()` after a good reconcile (no periodic requeue), a one-second
//!     requeue after an error.
//!
//! Environment:
//!
//!   KUBECONFIG              the cluster
//!   BENCH_CONCURRENCY       `controller::Config::concurrency` (default: kube-rs's, 0 = unbounded)
//!   BENCH_EXPECT_PARENTS    print BENCH_READY once that many parents reconciled once
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, ResourceExt};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::watcher;
use kube::{Client, CustomResource, Resource};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

const PARENT_LABEL: &str = "bench.operon.dev/parent";
const SYNCED_TYPE: &str = "Synced";
const SYNCED_REASON: &str = "Synced";
const SYNCED_MESSAGE: &str = "children and status are up to date";
const FIELD_MANAGER: &str = "bench-kube-rs";

#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "bench.operon.dev",
    version = "v1",
    kind = "BenchParent",
    namespaced,
    status = "BenchParentStatus"
)]
pub struct BenchParentSpec {
    value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tier: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BenchParentStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    children: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    config_map: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    type_: String,
    status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    observed_generation: Option<i64>,
    #[serde(default)]
    last_transition_time: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    message: String,
}

#[derive(Debug)]
enum Error {
    Kube(kube::Error),
    MissingField(&'static str),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Kube(error) => write!(f, "{error}"),
            Error::MissingField(field) => write!(f, "the parent has no {field}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<kube::Error> for Error {
    fn from(error: kube::Error) -> Self {
        Error::Kube(error)
    }
}

struct Context {
    client: Client,
    ready: ReadyMarker,
}

/// Prints BENCH_READY once every expected parent has been reconciled once.
struct ReadyMarker {
    expected: usize,
    seen: Mutex<Option<HashSet<String>>>,
}

impl ReadyMarker {
    fn saw(&self, key: String) {
        if self.expected == 0 {
            return;
        }
        let mut seen = self.seen.lock().unwrap();
        let Some(set) = seen.as_mut() else { return };
        set.insert(key);
        if set.len() >= self.expected {
            *seen = None;
            println!("BENCH_READY");
        }
    }
}

/// The current time as the API server writes a `metav1.Time`.
fn now() -> String {
    match serde_json::to_value(Time(Timestamp::now())) {
        Ok(serde_json::Value::String(text)) => text,
        _ => String::new(),
    }
}

fn desired_status(parent: &BenchParent, name: &str, generation: i64) -> BenchParentStatus {
    let previous = parent
        .status
        .as_ref()
        .and_then(|status| status.conditions.iter().find(|c| c.type_ == SYNCED_TYPE));
    // The transition time moves only when the condition's status does.
    let last_transition_time = match previous {
        Some(condition) if condition.status == "True" => condition.last_transition_time.clone(),
        _ => now(),
    };
    BenchParentStatus {
        observed_generation: Some(generation),
        conditions: vec![Condition {
            type_: SYNCED_TYPE.into(),
            status: "True".into(),
            observed_generation: Some(generation),
            last_transition_time,
            reason: SYNCED_REASON.into(),
            message: SYNCED_MESSAGE.into(),
        }],
        children: Some(2),
        config_map: Some(format!("{name}-config")),
        secret: Some(format!("{name}-secret")),
    }
}

async fn reconcile(parent: Arc<BenchParent>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = parent.namespace().ok_or(Error::MissingField("namespace"))?;
    let name = parent.name_any();
    if parent.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let generation = parent.meta().generation.unwrap_or_default();
    let owner = parent
        .controller_owner_ref(&())
        .ok_or(Error::MissingField("uid"))?;
    let labels = BTreeMap::from([(PARENT_LABEL.to_string(), name.clone())]);
    let apply = PatchParams::apply(FIELD_MANAGER).force();

    let config_map = ConfigMap {
        metadata: ObjectMeta {
            name: Some(format!("{name}-config")),
            namespace: Some(namespace.clone()),
            labels: Some(labels.clone()),
            owner_references: Some(vec![owner.clone()]),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([
            ("value".to_string(), parent.spec.value.clone()),
            (
                "tier".to_string(),
                parent.spec.tier.clone().unwrap_or_else(|| "standard".into()),
            ),
        ])),
        ..ConfigMap::default()
    };
    let config_maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &namespace);
    config_maps
        .patch(&config_map.name_any(), &apply, &Patch::Apply(&config_map))
        .await?;

    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(format!("{name}-secret")),
            namespace: Some(namespace.clone()),
            labels: Some(labels),
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([(
            "value".to_string(),
            ByteString(parent.spec.value.clone().into_bytes()),
        )])),
        ..Secret::default()
    };
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    secrets
        .patch(&secret.name_any(), &apply, &Patch::Apply(&secret))
        .await?;

    let status = desired_status(&parent, &name, generation);
    if parent.status.as_ref() != Some(&status) {
        let parents: Api<BenchParent> = Api::namespaced(ctx.client.clone(), &namespace);
        let patch = json!({
            "apiVersion": BenchParent::api_version(&()),
            "kind": BenchParent::kind(&()),
            "status": status,
        });
        parents
            .patch_status(&name, &apply, &Patch::Apply(&patch))
            .await?;
    }
    ctx.ready.saw(format!("{namespace}/{name}"));
    Ok(Action::await_change())
}

fn error_policy(parent: Arc<BenchParent>, error: &Error, _ctx: Arc<Context>) -> Action {
    eprintln!("reconcile of {} failed: {error}", parent.name_any());
    Action::requeue(Duration::from_secs(1))
}

fn env_number(name: &str) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> Result<(), kube::Error> {
    let client = Client::try_default().await?;
    let mut config = controller::Config::default();
    let concurrency = env_number("BENCH_CONCURRENCY");
    if concurrency > 0 {
        config = config.concurrency(concurrency as u16);
    }
    let context = Arc::new(Context {
        client: client.clone(),
        ready: ReadyMarker {
            expected: env_number("BENCH_EXPECT_PARENTS"),
            seen: Mutex::new(Some(HashSet::new())),
        },
    });
    Controller::new(
        Api::<BenchParent>::all(client.clone()),
        watcher::Config::default(),
    )
    .owns(Api::<ConfigMap>::all(client.clone()), watcher::Config::default())
    .owns(Api::<Secret>::all(client), watcher::Config::default())
    .with_config(config)
    .shutdown_on_signal()
    .run(reconcile, error_policy, context)
    .for_each(|result| async move {
        if let Err(error) = result {
            eprintln!("controller: {error}");
        }
    })
    .await;
    Ok(())
}
