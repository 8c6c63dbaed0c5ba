//! `docker-compose.yml` names the images, ports and environment the README's "Running in
//! production" section describes, and the files it mounts say what the README promises. No
//! Docker engine runs here: the files are read, not run.

use std::collections::BTreeSet;

use serde_yaml::Value;

fn compose() -> Value {
    let text = std::fs::read_to_string("docker-compose.yml").unwrap();
    let mut compose: Value = serde_yaml::from_str(&text).unwrap();
    compose.apply_merge().unwrap();
    compose
}

/// The README section "Running in production", up to the next `## ` heading.
fn production_section() -> String {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let start = readme
        .find("## Running in production")
        .expect("the README has the section");
    let rest = &readme[start + 3..];
    rest[..rest.find("\n## ").unwrap_or(rest.len())].to_owned()
}

/// The rows of the section's services table: (service names, image, ports).
fn service_rows(section: &str) -> Vec<(Vec<String>, String, Vec<String>)> {
    section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let ticked = |cell: &str| -> Vec<String> {
                cell.split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_owned)
                    .collect()
            };
            let image = ticked(cells[1]).pop().unwrap_or_default();
            (ticked(cells[0]), image, ticked(cells[2]))
        })
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_service_the_readme_lists_runs_the_image_and_ports_it_says() {
    let compose = compose();
    let section = production_section();
    let rows = service_rows(&section);
    assert!(rows.len() >= 5, "the services table was read: {rows:?}");
    let mut described = BTreeSet::new();
    for (services, image, ports) in rows {
        for service in services {
            let spec = &compose["services"][service.as_str()];
            assert!(!spec.is_null(), "compose has the service {service}");
            assert_eq!(
                spec["image"].as_str(),
                Some(image.as_str()),
                "image of {service}"
            );
            assert_eq!(strings(&spec["ports"]), ports, "ports of {service}");
            described.insert(service);
        }
    }
    let all: BTreeSet<String> = compose["services"]
        .as_mapping()
        .unwrap()
        .keys()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect();
    assert_eq!(described, all, "the README describes every service");
}

#[test]
fn the_instances_environment_is_the_one_the_readme_describes() {
    let compose = compose();
    let section = production_section();
    let documented: BTreeSet<String> = section
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("WAITROOM_") && word.len() > "WAITROOM_".len())
        .map(str::to_owned)
        .collect();
    for instance in ["waitroom-1", "waitroom-2"] {
        let environment: BTreeSet<String> = compose["services"][instance]["environment"]
            .as_mapping()
            .unwrap()
            .keys()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect();
        assert_eq!(environment, documented, "environment of {instance}");
    }
}

#[test]
fn both_instances_share_redis_and_one_signing_key_and_redis_keeps_an_append_only_file() {
    let compose = compose();
    let services = &compose["services"];
    let one = &services["waitroom-1"];
    let two = &services["waitroom-2"];
    assert_eq!(one["environment"], two["environment"]);
    assert_eq!(one["volumes"], two["volumes"]);
    let key_file = one["environment"]["WAITROOM_SIGNING_KEY_FILE"]
        .as_str()
        .unwrap();
    assert!(
        strings(&one["volumes"])
            .iter()
            .any(|v| v.ends_with(&format!(":{key_file}:ro")))
    );
    assert_eq!(
        one["environment"]["WAITROOM_REDIS_URL"].as_str(),
        Some("redis://redis:6379/")
    );
    let redis = strings(&services["redis"]["command"]).join(" ");
    assert!(redis.contains("--appendonly yes"), "{redis}");
    assert!(redis.contains("--appendfsync"), "{redis}");
}

#[test]
fn the_balancer_passes_websockets_and_the_stream_and_monitoring_is_provisioned() {
    let compose = compose();
    let services = &compose["services"];
    let nginx = std::fs::read_to_string("deploy/nginx.conf").unwrap();
    assert!(nginx.contains("proxy_set_header Upgrade $http_upgrade"));
    assert!(nginx.contains("server waitroom-1:8080") && nginx.contains("server waitroom-2:8080"));
    assert!(
        nginx.contains("proxy_buffering off"),
        "server-sent events pass unbuffered"
    );
    let prometheus = std::fs::read_to_string("deploy/prometheus.yml").unwrap();
    let prometheus: Value = serde_yaml::from_str(&prometheus).unwrap();
    let targets = strings(&prometheus["scrape_configs"][0]["static_configs"][0]["targets"]);
    assert_eq!(targets, ["waitroom-1:8080", "waitroom-2:8080"]);
    assert_eq!(
        strings(&prometheus["rule_files"]),
        ["/etc/prometheus/alerts.yml"]
    );
    let mounts = strings(&services["prometheus"]["volumes"]);
    assert!(mounts.contains(&"./deploy/alerts.yml:/etc/prometheus/alerts.yml:ro".to_owned()));
    let provider =
        std::fs::read_to_string("deploy/grafana/provisioning/dashboards/waitroom.yml").unwrap();
    let provider: Value = serde_yaml::from_str(&provider).unwrap();
    let dashboards = provider["providers"][0]["options"]["path"]
        .as_str()
        .unwrap();
    let grafana = strings(&services["grafana"]["volumes"]);
    assert!(grafana.contains(&format!("./deploy/grafana/dashboards:{dashboards}:ro")));
    assert!(std::path::Path::new("deploy/grafana/dashboards/waitroom.json").exists());
}

#[test]
fn compose_does_not_start_without_the_secrets_and_ships_none_of_its_own() {
    let compose = compose();
    let environment = &compose["services"]["waitroom-1"]["environment"];
    for variable in ["WAITROOM_ADMIN_TOKEN", "WAITROOM_USER_JWT_SECRET"] {
        let value = environment[variable].as_str().unwrap();
        assert!(
            value.starts_with(&format!("${{{variable}:?")),
            "{variable} must be required from the shell, not defaulted: {value}"
        );
    }
    let text = std::fs::read_to_string("docker-compose.yml").unwrap();
    for known in waitroom::config::KNOWN_SECRETS {
        assert!(
            !text.contains(&format!(":-{known}}}")),
            "compose defaults a secret to {known}"
        );
    }
}
