//! `dbConnRef` / `spaceConnRef`: one connection name, or several that a route chooses between
//! by hashing (`routing.hashAlgo`, `routing.chooseKey`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One or more connection names. In JSON a string or an array of strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnRefs(Vec<String>);

impl ConnRefs {
    /// A single connection.
    pub fn one(name: impl Into<String>) -> Self {
        ConnRefs(vec![name.into()])
    }

    /// Several connections to choose between.
    pub fn many<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        ConnRefs(names.into_iter().map(Into::into).collect())
    }

    /// The names, in configuration order.
    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// Whether no name is given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl<'de> Deserialize<'de> for ConnRefs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match OneOrMany::deserialize(d).map_err(|_| {
            serde::de::Error::custom("expected a connection name or an array of connection names")
        })? {
            OneOrMany::One(s) => Ok(ConnRefs(vec![s])),
            OneOrMany::Many(v) => Ok(ConnRefs(v)),
        }
    }
}

impl Serialize for ConnRefs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => s.serialize_str(one),
            many => many.serialize(s),
        }
    }
}
