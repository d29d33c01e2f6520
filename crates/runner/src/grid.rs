//! Grid expansion, run ids, config hashes and shards.
//!
//! `[grid]` maps a key to a list of values; every combination is one run. Keys are dotted paths
//! into the config (`model.activation`) or one of the short aliases below. The order of runs is
//! fixed (keys sorted, values in file order, the last key varying fastest), so `--shard i/N` on
//! different machines partitions the same list.
//!
//! To pair values instead of crossing them, give a key (any name) a list of inline tables:
//! `variant = [{ activation = "sigmoid", init = "standard" }, { activation = "tanh", init =
//! "xavier-uniform" }]` is one axis of two runs, each setting both keys; the run's axes (and
//! its id and report columns) are the tables' keys, `activation` and `init`.

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::config::{RunConfig, set_key};

/// Short grid keys and the config paths they stand for.
pub const ALIASES: [(&str, &str); 14] = [
    ("activation", "model.activation"),
    ("init", "model.init"),
    ("depth", "model.depth"),
    ("width", "model.width"),
    ("batch_norm", "model.batch_norm"),
    ("residual", "model.residual"),
    ("lr", "train.lr"),
    ("optimizer", "train.optimizer"),
    ("seed", "train.seed"),
    ("batch_size", "train.batch_size"),
    ("schedule", "train.schedule"),
    ("momentum", "train.momentum"),
    ("epochs", "train.epochs"),
    ("policy", "train.lr_policy"),
];

/// One cell of the grid: a resolved config and the axis values that name it.
#[derive(Clone, Debug)]
pub struct Run {
    /// Folder name under `OUT/runs/`.
    pub id: String,
    /// The grid values of this run, `(short key, value)`, in grid order.
    pub axes: Vec<(String, String)>,
    /// The resolved config.
    pub config: RunConfig,
    /// [`config_hash`] of `config`.
    pub hash: String,
}

/// Short hash of the resolved config: a result with the same hash is the same experiment.
pub fn config_hash(config: &RunConfig) -> String {
    let json = serde_json::to_string(config).expect("config serialises");
    let digest = Sha256::digest(json.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn resolve_key(key: &str) -> Result<(String, String)> {
    if let Some((short, path)) = ALIASES.iter().find(|(s, p)| *s == key || *p == key) {
        return Ok((short.to_string(), path.to_string()));
    }
    if key.contains('.') {
        let short = key.rsplit('.').next().unwrap_or(key).to_string();
        return Ok((short, key.to_string()));
    }
    let valid: Vec<&str> = ALIASES.iter().map(|(s, _)| *s).collect();
    bail!(
        "grid.{key}: unknown grid key; use a dotted config path (e.g. train.lr) or one of {}",
        valid.join(", ")
    )
}

fn value_label(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Makes a string safe as a folder name component.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-.=".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What one value of a grid axis sets: `(short key, config path, value)`, one entry for a plain
/// value, one per key for an inline table of keys set together.
type Settings = Vec<(String, String, toml::Value)>;

/// The settings of each value of grid axis `key`: a plain list sets `key`; a list of inline
/// tables sets every key of a table together (each table must set the same keys).
fn axis_settings(key: &str, values: Vec<toml::Value>) -> Result<Vec<Settings>> {
    let tables = values.iter().filter(|v| v.is_table()).count();
    if tables == 0 {
        let (short, path) = resolve_key(key)?;
        return Ok(values
            .into_iter()
            .map(|v| vec![(short.clone(), path.clone(), v)])
            .collect());
    }
    let example = format!("{key} = [{{ activation = \"tanh\", init = \"standard\" }}, …]");
    if tables < values.len() {
        bail!(
            "grid.{key} mixes inline tables and plain values: make every value a table of the \
             keys it sets together, e.g. {example}"
        );
    }
    let mut first: Option<Vec<String>> = None;
    values
        .into_iter()
        .map(|value| {
            let toml::Value::Table(table) = value else {
                unreachable!("every value is a table")
            };
            let keys: Vec<String> = table.keys().cloned().collect();
            match &first {
                _ if keys.is_empty() => {
                    bail!("grid.{key} has an empty table: name the keys it sets, e.g. {example}")
                }
                Some(expected) if *expected != keys => bail!(
                    "grid.{key}: every table must set the same keys (so every run has the same \
                     axes): [{}] vs [{}]",
                    expected.join(", "),
                    keys.join(", ")
                ),
                Some(_) => {}
                None => first = Some(keys),
            }
            table
                .into_iter()
                .map(|(k, v)| {
                    let (short, path) =
                        resolve_key(&k).with_context(|| format!("in grid.{key}"))?;
                    Ok((short, path, v))
                })
                .collect()
        })
        .collect()
}

/// Expands `tree` (a whole config file, overrides already applied) into its runs; every run is
/// validated, so a bad value anywhere in the grid is reported before anything trains.
pub fn expand(mut tree: toml::Table) -> Result<Vec<Run>> {
    let grid = match tree.remove("grid") {
        None => toml::Table::new(),
        Some(toml::Value::Table(t)) => t,
        Some(_) => bail!("grid: must be a table, e.g. [grid] lr = [0.1, 0.2]"),
    };
    let mut axes: Vec<Vec<Settings>> = Vec::new();
    for (key, values) in grid {
        let values = match values {
            toml::Value::Array(a) => a,
            one => vec![one],
        };
        if values.is_empty() {
            bail!("grid.{key} is an empty list: give at least one value (e.g. seed = [1, 2, 3])");
        }
        axes.push(axis_settings(&key, values)?);
    }
    let mut shorts: Vec<&str> = axes
        .iter()
        .flat_map(|axis| axis[0].iter().map(|(short, _, _)| short.as_str()))
        .collect();
    shorts.sort_unstable();
    if let Some(w) = shorts.windows(2).find(|w| w[0] == w[1]) {
        bail!(
            "grid: `{}` is set by two grid keys; keep one of them (a key inside a list of \
             tables counts too)",
            w[0]
        );
    }
    let total: usize = axes.iter().map(Vec::len).product();
    let mut runs = Vec::with_capacity(total);
    for index in 0..total {
        let mut cell = tree.clone();
        let mut names = Vec::new();
        let mut rest = index;
        let mut picks = vec![0; axes.len()];
        for (i, axis) in axes.iter().enumerate().rev() {
            picks[i] = rest % axis.len();
            rest /= axis.len();
        }
        for (axis, &pick) in axes.iter().zip(&picks) {
            for (short, path, value) in &axis[pick] {
                set_key(&mut cell, path, value.clone())?;
                names.push((short.clone(), value_label(value)));
            }
        }
        let config = RunConfig::from_tree(cell).with_context(|| {
            let cell: Vec<String> = names.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("grid cell {}", cell.join(" "))
        })?;
        let id = if names.is_empty() {
            sanitize(&config.name)
        } else {
            names
                .iter()
                .map(|(k, v)| sanitize(&format!("{k}={v}")))
                .collect::<Vec<_>>()
                .join("_")
        };
        let hash = config_hash(&config);
        runs.push(Run {
            id,
            axes: names,
            config,
            hash,
        });
    }
    Ok(runs)
}

/// `i/N`: this machine's share of a grid (1-based i).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 1-based index.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("--shard `{s}`: expected i/N with 1 <= i <= N, e.g. 2/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Every N-th run, starting at the i-th: shards interleave, so each gets a similar mix of
    /// slow and fast cells.
    pub fn select<T>(&self, runs: Vec<T>) -> Vec<T> {
        runs.into_iter()
            .enumerate()
            .filter(|(k, _)| k % self.count == self.index - 1)
            .map(|(_, r)| r)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
        [data]
        dataset = "mnist"
        [model]
        activation = "sigmoid"
        [train]
        epochs = 1
        batch_size = 10
        lr = 0.1
        [grid]
        activation = ["sigmoid", "tanh"]
        lr = [0.1, 3.0]
        seed = [1, 2, 3]
    "#;

    #[test]
    fn expands_every_cell_with_distinct_ids_and_hashes() {
        let runs = expand(toml::from_str(BASE).unwrap()).unwrap();
        assert_eq!(runs.len(), 12);
        assert_eq!(runs[0].id, "activation=sigmoid_lr=0.1_seed=1");
        assert_eq!(runs[11].config.train.lr, 3.0);
        let mut hashes: Vec<_> = runs.iter().map(|r| r.hash.clone()).collect();
        hashes.dedup();
        assert_eq!(hashes.len(), 12);
    }

    #[test]
    fn a_list_of_tables_pairs_values_instead_of_crossing_them() {
        let paired = BASE.replace(
            "activation = [\"sigmoid\", \"tanh\"]",
            "variant = [{ activation = \"sigmoid\", init = \"standard\" }, \
             { activation = \"tanh\", init = \"xavier-uniform\" }]",
        );
        let runs = expand(toml::from_str(&paired).unwrap()).unwrap();
        assert_eq!(runs.len(), 2 * 2 * 3, "two pairs, not 2 x 2 combinations");
        let pairs: Vec<(String, String)> = runs
            .iter()
            .map(|r| {
                let m = &r.config.model;
                (m.activation.to_string(), m.init.to_string())
            })
            .collect();
        assert!(pairs.contains(&("sigmoid".into(), "standard".into())));
        assert!(pairs.contains(&("tanh".into(), "xavier-uniform".into())));
        assert!(!pairs.contains(&("tanh".into(), "standard".into())));
        assert_eq!(runs[0].id, "lr=0.1_seed=1_activation=sigmoid_init=standard");
        let keys: Vec<&str> = runs[0].axes.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["lr", "seed", "activation", "init"]);

        for (bad, needle) in [
            ("variant = [{ activation = \"tanh\" }, \"relu\"]", "mixes"),
            (
                "variant = [{ activation = \"tanh\" }, { init = \"standard\" }]",
                "same keys",
            ),
            ("variant = [{ colour = \"red\" }]", "grid.colour"),
            ("variant = [{ lr = 0.5 }]", "`lr` is set by two"),
        ] {
            let text = BASE.replace("activation = [\"sigmoid\", \"tanh\"]", bad);
            let err = format!("{:#}", expand(toml::from_str(&text).unwrap()).unwrap_err());
            assert!(err.contains(needle), "{bad}: {err}");
        }
    }

    #[test]
    fn shards_partition_the_grid() {
        let all: Vec<usize> = (0..10).collect();
        let mut seen: Vec<usize> = (1..=3)
            .flat_map(|i| Shard { index: i, count: 3 }.select(all.clone()))
            .collect();
        seen.sort();
        assert_eq!(seen, all);
        assert!("0/3".parse::<Shard>().is_err());
        assert!("4/3".parse::<Shard>().is_err());
    }

    #[test]
    fn empty_seed_list_and_bad_lr_are_rejected() {
        let mut tree: toml::Table = toml::from_str(BASE).unwrap();
        tree["grid"]
            .as_table_mut()
            .unwrap()
            .insert("seed".into(), toml::Value::Array(vec![]));
        assert!(expand(tree).unwrap_err().to_string().contains("grid.seed"));
        let bad = BASE.replace("lr = [0.1, 3.0]", "lr = [0.1, -1.0]");
        let err = format!("{:#}", expand(toml::from_str(&bad).unwrap()).unwrap_err());
        assert!(err.contains("train.lr"), "{err}");
    }
}
