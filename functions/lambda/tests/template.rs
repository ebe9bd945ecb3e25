//! The SAM template (`infra/template.yaml`), checked offline:
//!
//! - `cfn-lint` and `sam validate --lint` pass;
//! - the template as SAM transforms it (what CloudFormation would deploy) lints clean too,
//!   which catches what the SAM-level lint does not, like a circular dependency between the
//!   API and its functions;
//! - the transformed template keeps the promises the code relies on: the route map, one
//!   binary per function with the build metadata `cargo lambda` needs, partial batch failures
//!   on every queue, the bootstrap token on the management function only, the table's keys.
//!
//! The tools (pinned `cfn-lint` and `aws-sam-cli`) live in a Python virtual environment at
//! `$HOME/.cache/badges-tools/tools`, created here on first use with `python3 -m venv` and
//! `pip` (set `BADGES_PYTHON` to use another interpreter).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// The tool versions the template is checked with.
const PINS: [&str; 2] = ["aws-sam-cli==1.170.0", "cfn-lint==1.58.0"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn template() -> PathBuf {
    workspace_root().join("infra/template.yaml")
}

fn run(command: &mut Command) -> Output {
    command
        .env("SAM_CLI_TELEMETRY", "0")
        .env("AWS_DEFAULT_REGION", "eu-central-1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

fn assert_success(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The virtual environment's `bin` directory, created and filled on first use.
fn tools() -> &'static Path {
    static TOOLS: OnceLock<PathBuf> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let home = std::env::var_os("HOME").expect("HOME is set");
        let venv = Path::new(&home).join(".cache/badges-tools/tools");
        let bin = venv.join("bin");
        let stamp = venv.join("badges-pins.txt");
        let wanted = PINS.join("\n");
        let installed = std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted)
            && bin.join("cfn-lint").exists()
            && bin.join("sam").exists();
        if !installed {
            if !bin.join("pip").exists() {
                let python = std::env::var("BADGES_PYTHON").unwrap_or_else(|_| "python3".into());
                let created = run(Command::new(&python).arg("-m").arg("venv").arg(&venv));
                assert_success("creating the tools' virtual environment", &created);
            }
            let pip = run(Command::new(bin.join("pip"))
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .args(PINS));
            assert_success("pip install of the template tools", &pip);
            std::fs::write(&stamp, &wanted).unwrap();
        }
        bin
    })
}

/// The template as SAM transforms it, as JSON (function code replaced by a placeholder S3
/// object, since nothing is built here).
fn transformed() -> &'static Value {
    static TRANSFORMED: OnceLock<Value> = OnceLock::new();
    TRANSFORMED.get_or_init(|| {
        let script = r#"
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class NoManagedPolicies:
    def load(self):
        return {}

with open(sys.argv[1]) as f:
    template = yaml_parse(f.read())
for resource in template["Resources"].values():
    if resource["Type"] == "AWS::Serverless::Function":
        resource["Properties"]["CodeUri"] = "s3://placeholder-bucket/code.zip"
parameters = {"BootstrapToken": "obk_" + "x" * 32}
json.dump(transform(template, parameters, NoManagedPolicies()), sys.stdout, indent=1)
"#;
        let output =
            run(Command::new(tools().join("python")).arg("-c").arg(script).arg(template()));
        assert_success("the SAM transform", &output);
        serde_json::from_slice(&output.stdout).unwrap()
    })
}

fn resources_of_type<'a>(
    kind: &'a str,
) -> impl Iterator<Item = (&'static String, &'static Value)> + 'a {
    transformed()["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(move |(_, resource)| resource["Type"] == kind)
}

#[test]
fn cfn_lint_passes_on_the_template() {
    let output = run(Command::new(tools().join("cfn-lint")).arg(template()));
    assert_success("cfn-lint infra/template.yaml", &output);
}

#[test]
fn sam_validate_with_lint_passes_on_the_template() {
    let output = run(Command::new(tools().join("sam"))
        .args(["validate", "--lint", "--region", "eu-central-1", "-t"])
        .arg(template())
        .current_dir(workspace_root()));
    assert_success("sam validate --lint", &output);
}

#[test]
fn the_transformed_template_lints_clean_with_no_circular_dependency() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("transformed.json");
    std::fs::write(&path, serde_json::to_vec_pretty(transformed()).unwrap()).unwrap();
    // E3004 (circular dependencies) is only visible here.
    let output = run(Command::new(tools().join("cfn-lint")).arg(&path));
    assert_success("cfn-lint on the transformed template", &output);
}

/// `[[bin]]` names of the crates under `functions/`, by crate directory.
fn binaries() -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(workspace_root().join("functions")).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else { continue };
        let mut in_bin = false;
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                in_bin = line == "[[bin]]";
            } else if in_bin && let Some(name) = line.strip_prefix("name = ") {
                let name = name.trim_matches('"').to_owned();
                found.insert(name, dir.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    found
}

#[test]
fn every_function_is_one_arm64_binary_that_cargo_lambda_builds() {
    let binaries = binaries();
    // The CodeUri of each function, from the untransformed template's text.
    let text = std::fs::read_to_string(template()).unwrap();
    let code_uris: Vec<&str> =
        text.lines().filter_map(|l| l.trim().strip_prefix("CodeUri: ../functions/")).collect();
    let mut seen = BTreeSet::new();
    let functions: Vec<_> = resources_of_type("AWS::Lambda::Function").collect();
    assert_eq!(functions.len(), 8, "one function per crate");
    for (name, function) in functions {
        let properties = &function["Properties"];
        assert_eq!(properties["Runtime"], "provided.al2023", "{name}");
        assert_eq!(properties["Handler"], "bootstrap", "{name}");
        assert_eq!(properties["Architectures"], serde_json::json!(["arm64"]), "{name}");
        assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda", "{name}");
        let binary = function["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        let crate_dir = binaries
            .get(binary)
            .unwrap_or_else(|| panic!("{name} builds `{binary}`, which no crate's [[bin]] names"));
        assert!(
            code_uris.contains(&crate_dir.as_str()),
            "{name}: CodeUri ../functions/{crate_dir} expected"
        );
        assert!(seen.insert(binary.to_owned()), "{binary} is built twice");
    }
    assert_eq!(seen.len(), binaries.len(), "every Lambda crate is deployed: {binaries:?}");
}

#[test]
fn only_the_management_function_gets_the_bootstrap_token() {
    for (name, function) in resources_of_type("AWS::Lambda::Function") {
        let variables = &function["Properties"]["Environment"]["Variables"];
        for required in [
            "BADGES_TABLE",
            "BADGES_BUCKET",
            "BADGES_BULK_QUEUE_URL",
            "BADGES_WEBHOOK_QUEUE_URL",
            "BADGES_VAULT_KEY_ID",
            "BADGES_SIGNING_MODE",
            "BADGES_PUBLIC_URL",
        ] {
            assert!(variables.get(required).is_some(), "{name} lacks {required}");
        }
        let has_token = variables.get("BADGES_BOOTSTRAP_TOKEN").is_some();
        assert_eq!(has_token, name == "ManagementApiFunction", "{name}");
    }
}

#[test]
fn every_queue_consumer_reports_partial_batch_failures() {
    let mut queues = BTreeSet::new();
    for (name, mapping) in resources_of_type("AWS::Lambda::EventSourceMapping") {
        let properties = &mapping["Properties"];
        let source = properties["EventSourceArn"]["Fn::GetAtt"][0].as_str().unwrap();
        if source == "Table" {
            // The outbox relay: new outbox event items only.
            let pattern = properties["FilterCriteria"]["Filters"][0]["Pattern"].as_str().unwrap();
            let pattern: Value = serde_json::from_str(pattern).unwrap();
            assert_eq!(pattern["dynamodb"]["Keys"]["SK"]["S"][0], "EVT", "{name}");
            assert_eq!(pattern["eventName"][0], "INSERT", "{name}");
            continue;
        }
        assert_eq!(
            properties["FunctionResponseTypes"],
            serde_json::json!(["ReportBatchItemFailures"]),
            "{name}"
        );
        queues.insert(source.to_owned());
    }
    assert_eq!(
        queues,
        ["BulkQueue", "InboundQueue", "WebhookQueue"].map(String::from).into_iter().collect()
    );
    // Each has a dead-letter queue.
    for queue in &queues {
        let redrive = &transformed()["Resources"][queue]["Properties"]["RedrivePolicy"];
        assert!(redrive["deadLetterTargetArn"].is_object(), "{queue}");
    }
}

#[test]
fn the_api_routes_each_path_to_its_function() {
    let api = &transformed()["Resources"]["HttpApi"]["Properties"]["Body"]["paths"];
    let target = |path: &str| {
        let uri = api[path]["x-amazon-apigateway-any-method"]["x-amazon-apigateway-integration"]
            ["uri"]["Fn::Sub"]
            .as_str()
            .unwrap_or_else(|| panic!("no integration for {path}"));
        let name = uri.rsplit(":function:${AWS::StackName}-").next().unwrap();
        name.trim_end_matches("/invocations").to_owned()
    };
    assert_eq!(target("/v1/workspaces/{ws}/credentials"), "issuance-api");
    assert_eq!(target("/v1/workspaces/{ws}/credentials/{proxy+}"), "issuance-api");
    assert_eq!(target("/v1/{proxy+}"), "management-api");
    assert_eq!(target("/$default"), "public-api");
    assert_eq!(api["/$default"]["x-amazon-apigateway-any-method"]["isDefaultRoute"], true);
    assert_eq!(api.as_object().unwrap().len(), 4);
    // Every integration names a function of this stack.
    let names: BTreeSet<String> = resources_of_type("AWS::Lambda::Function")
        .map(|(_, f)| f["Properties"]["FunctionName"]["Fn::Sub"].as_str().unwrap().to_owned())
        .collect();
    for suffix in ["issuance-api", "management-api", "public-api"] {
        assert!(names.contains(&format!("${{AWS::StackName}}-{suffix}")), "{suffix}");
    }
}

#[test]
fn the_table_has_the_keys_and_indexes_the_adapters_use() {
    let table = &transformed()["Resources"]["Table"]["Properties"];
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(table["KeySchema"][0]["AttributeName"], "PK");
    assert_eq!(table["KeySchema"][1]["AttributeName"], "SK");
    let indexes: Vec<(String, String, String)> = table["GlobalSecondaryIndexes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|index| {
            assert_eq!(index["Projection"]["ProjectionType"], "ALL");
            let key =
                |i: usize| index["KeySchema"][i]["AttributeName"].as_str().unwrap().to_owned();
            (index["IndexName"].as_str().unwrap().to_owned(), key(0), key(1))
        })
        .collect();
    let expected: Vec<(String, String, String)> =
        (1..=4).map(|n| (format!("GSI{n}"), format!("GSI{n}PK"), format!("GSI{n}SK"))).collect();
    assert_eq!(indexes, expected);
    assert_eq!(table["TimeToLiveSpecification"]["AttributeName"], "expires_at");
    assert_eq!(table["StreamSpecification"]["StreamViewType"], "NEW_IMAGE");
    assert_eq!(table["DeletionProtectionEnabled"], true);
    assert_eq!(table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true);
    assert_eq!(table["SSESpecification"]["SSEType"], "KMS");
}

#[test]
fn the_stack_refuses_regions_outside_the_eu() {
    let assertion = &transformed()["Rules"]["EuRegionsOnly"]["Assertions"][0]["Assert"];
    let regions = &assertion["Fn::Contains"][0];
    let regions: BTreeSet<&str> =
        regions.as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert!(regions.iter().all(|r| r.starts_with("eu-")), "{regions:?}");
    assert_eq!(regions.len(), 8);
    assert_eq!(assertion["Fn::Contains"][1]["Ref"], "AWS::Region");
}

/// The vault contexts (`kms:EncryptionContext:context`) each role may use the data key under.
fn vault_contexts(role: &str) -> BTreeSet<String> {
    let resource = &transformed()["Resources"][role];
    assert_eq!(resource["Type"], "AWS::IAM::Role", "{role}");
    let mut contexts = BTreeSet::new();
    for policy in resource["Properties"]["Policies"].as_array().unwrap() {
        for statement in policy["PolicyDocument"]["Statement"].as_array().unwrap() {
            match &statement["Condition"]["StringLike"]["kms:EncryptionContext:context"] {
                Value::String(one) => {
                    contexts.insert(one.clone());
                }
                Value::Array(many) => {
                    contexts.extend(many.iter().map(|c| c.as_str().unwrap().to_owned()));
                }
                _ => {}
            }
        }
    }
    contexts
}

#[test]
fn each_function_may_seal_and_open_exactly_the_secrets_its_code_does() {
    // The contexts `platform` seals under: webhook secrets, each organization's recipient
    // secret (personal data), TOTP secrets and draft payloads.
    let expect = |role: &str, contexts: &[&str]| {
        let expected: BTreeSet<String> = contexts.iter().map(|c| (*c).to_owned()).collect();
        assert_eq!(vault_contexts(role), expected, "{role}");
    };
    expect("ManagementApiRole", &["webhook-secret:*", "recipient-secret|*", "totp:*", "draft:*"]);
    expect("IssuanceApiRole", &["recipient-secret|*", "draft:*"]);
    expect("PublicApiRole", &["recipient-secret|*"]);
    expect("BulkWorkerRole", &["recipient-secret|*"]);
    expect("InboundEventsRole", &["recipient-secret|*", "draft:*"]);
    expect("WebhookWorkerRole", &["webhook-secret:*"]);
    expect("ExpirySweepRole", &[]);
    expect("OutboxRelayRole", &[]);
    // The contexts the code uses are the ones granted.
    assert_eq!(
        platform::personal::secret_context(platform::ids::OrganizationId::generate())
            .split('|')
            .next(),
        Some("recipient-secret")
    );
}
