//! Which counters a write increments: the built-in `created` / `updated` / `deleted` and every
//! matching `counterRules` rule.

use serde_json::{Map, Value};

use crate::config::{CounterEvent, CounterRules, CounterScope};
use crate::error::Result;
use crate::query::filter::lookup;
use crate::query::Filter;

/// Prefix of rule counters in storage, so a rule can never collide with a built-in counter.
pub const RULE_PREFIX: &str = "rule:";

#[derive(Debug)]
struct Rule {
    name: String,
    on: Vec<CounterEvent>,
    scope: CounterScope,
    when: Filter,
}

/// The compiled `counterRules`.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

fn builtin(event: CounterEvent) -> &'static str {
    match event {
        CounterEvent::Create => "created",
        CounterEvent::Update => "updated",
        CounterEvent::Delete => "deleted",
    }
}

impl RuleSet {
    /// Compiles the rules (already validated with the configuration).
    pub fn compile(config: &CounterRules) -> Result<Self> {
        let rules = config
            .rules
            .iter()
            .map(|r| {
                Ok(Rule {
                    name: r.name.clone(),
                    on: r.on.clone(),
                    scope: r.scope,
                    when: Filter::parse(&r.when)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(RuleSet { rules })
    }

    /// The counters a write increments. `meta` holds the indexed properties of the version
    /// and `data` its whole payload; a rule with `scope: meta` only sees `meta`.
    pub fn counters_for(
        &self,
        event: CounterEvent,
        meta: &Map<String, Value>,
        data: &Value,
    ) -> Vec<String> {
        let mut out = vec![builtin(event).to_string()];
        for rule in &self.rules {
            if !rule.on.is_empty() && !rule.on.contains(&event) {
                continue;
            }
            let hit = match rule.scope {
                CounterScope::Meta => rule.when.matches(meta),
                CounterScope::Payload => rule.when.matches(&payload_props(&rule.when, data)),
            };
            if hit {
                out.push(format!("{RULE_PREFIX}{}", rule.name));
            }
        }
        out
    }
}

/// The values of the paths a filter mentions, looked up in the payload.
fn payload_props(filter: &Filter, data: &Value) -> Map<String, Value> {
    filter
        .paths()
        .into_iter()
        .filter_map(|p| lookup(data, p).map(|v| (p.to_string(), v.clone())))
        .collect()
}
