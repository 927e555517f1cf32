//! SCIM 2.0 (RFC 7643/7644) as Declare speaks it, without I/O: the schema URNs, the filter
//! subset it supports, reading a User body (and refusing protected characteristics), applying a
//! PatchOp to a User document, rendering a User, and version (ETag) arithmetic.
//!
//! A SCIM User is an employee: `userName` is the employee number, `externalId` the external
//! identity subject, `active` means no leave date; the enterprise extension's `department` is an
//! org-unit code, and Declare's own extension carries staff type, rank, FTE and start date.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use crate::domain::workforce::is_protected_characteristic;

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const WORKFORCE: &str = "urn:declare:scim:schemas:extension:workforce:1.0:User";
pub const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Most resources one page returns (advertised as `filter.maxResults`).
pub const MAX_RESULTS: i64 = 200;

/// An RFC 7644 §3.12 error: HTTP status, optional `scimType`, and a human detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }
    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }
    pub fn not_found() -> Self {
        Self::new(404, None, "no such User")
    }
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some("uniqueness"), detail)
    }
    pub fn body(&self) -> Value {
        let mut body =
            json!({"schemas": [ERROR], "status": self.status.to_string(), "detail": self.detail});
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        body
    }
}

impl std::fmt::Display for ScimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.detail)
    }
}

/// The attributes a filter may compare: the two keys an identity provider matches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterAttribute {
    UserName,
    ExternalId,
}

/// How a clause compares: `eq` (exact), `sw` (starts with), `co` (contains).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    Eq,
    StartsWith,
    Contains,
}

/// One `attribute op "value"` comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub attribute: FilterAttribute,
    pub op: FilterOp,
    pub value: String,
}

/// The filters Declare answers: one clause, or several joined by `and` (all must hold).
/// Entra ID sends `userName eq "..."` and `externalId eq "..."`; Okta also `userName sw "..."`
/// and `and` of two clauses; `co` is what admin consoles search with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter(pub Vec<Clause>);

/// Most clauses one filter may join: connectors send one or two.
const MAX_CLAUSES: usize = 4;

/// Parses `userName eq "x"`, `externalId sw "x"`, `userName co "x" and externalId eq "y"`
/// (attribute names, operators and `and` case-insensitive, attributes optionally
/// URN-qualified). Anything else (`or`, `not`, brackets, other attributes or operators) is
/// `invalidFilter`: a wider language would let a caller probe the workforce in ways no
/// connector needs.
pub fn parse_filter(text: &str) -> Result<Filter, ScimError> {
    let invalid = || {
        ScimError::bad(
            "invalidFilter",
            format!(
                "unsupported filter `{text}`: supported are `userName` or `externalId` with `eq`, `sw` or `co` and a quoted value, joined by `and`"
            ),
        )
    };
    let mut clauses = Vec::new();
    let mut rest = text.trim();
    loop {
        let (attr, after) = rest.split_once(char::is_whitespace).ok_or_else(invalid)?;
        let (op, after) = after
            .trim_start()
            .split_once(char::is_whitespace)
            .ok_or_else(invalid)?;
        let op = match op.to_ascii_lowercase().as_str() {
            "eq" => FilterOp::Eq,
            "sw" => FilterOp::StartsWith,
            "co" => FilterOp::Contains,
            _ => return Err(invalid()),
        };
        let (value, after) = quoted(after.trim_start()).ok_or_else(invalid)?;
        clauses.push(Clause {
            attribute: filter_attribute(attr).ok_or_else(invalid)?,
            op,
            value,
        });
        let after = after.trim_start();
        if after.is_empty() {
            break;
        }
        let (joiner, next) = after.split_once(char::is_whitespace).ok_or_else(invalid)?;
        if !joiner.eq_ignore_ascii_case("and") || clauses.len() >= MAX_CLAUSES {
            return Err(invalid());
        }
        rest = next.trim_start();
    }
    Ok(Filter(clauses))
}

/// A JSON string at the start of `text`, and what follows it.
fn quoted(text: &str) -> Option<(String, &str)> {
    if !text.starts_with('"') {
        return None;
    }
    let mut escaped = false;
    for (at, c) in text.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => {
                let value = serde_json::from_str(&text[..=at]).ok()?;
                return Some((value, &text[at + 1..]));
            }
            _ => {}
        }
    }
    None
}

fn filter_attribute(attr: &str) -> Option<FilterAttribute> {
    let attr = attr.to_ascii_lowercase();
    let name = attr
        .strip_prefix(&format!("{}:", USER.to_ascii_lowercase()))
        .unwrap_or(&attr);
    match name {
        "username" => Some(FilterAttribute::UserName),
        "externalid" => Some(FilterAttribute::ExternalId),
        _ if attr == format!("{}:employeenumber", ENTERPRISE.to_ascii_lowercase()) => {
            Some(FilterAttribute::UserName)
        }
        _ => None,
    }
}

/// RFC 7644 section 3.4.2.5 `attributes` / `excludedAttributes`: trims a rendered resource to
/// the attributes asked for, or removes those excluded. `id` and `schemas` are always
/// returned. Names are case-insensitive and may be URN-qualified (`urn:...:User:department`),
/// name a whole extension by its URN, or a sub-attribute (`meta.version`). Unknown names
/// select nothing and exclude nothing, as the RFC has it.
pub fn project(doc: &mut Value, attributes: Option<&str>, excluded: Option<&str>) {
    let Some(object) = doc.as_object_mut() else {
        return;
    };
    if let Some(list) = attributes.filter(|l| !l.trim().is_empty()) {
        let wanted: Vec<AttrPath> = list.split(',').filter_map(AttrPath::parse).collect();
        let mut kept = Map::new();
        for (key, value) in object.iter() {
            if key == "id" || key == "schemas" {
                kept.insert(key.clone(), value.clone());
                continue;
            }
            let asked: Vec<&AttrPath> = wanted
                .iter()
                .filter(|p| p.top.eq_ignore_ascii_case(key))
                .collect();
            if asked.is_empty() {
                continue;
            }
            if asked.iter().any(|p| p.sub.is_none()) {
                kept.insert(key.clone(), value.clone());
            } else if let Some(inner) = value.as_object() {
                let subset: Map<String, Value> = inner
                    .iter()
                    .filter(|(k, _)| {
                        asked
                            .iter()
                            .any(|p| p.sub.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(k)))
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if !subset.is_empty() {
                    kept.insert(key.clone(), Value::Object(subset));
                }
            }
        }
        *object = kept;
    }
    if let Some(list) = excluded {
        for path in list.split(',').filter_map(AttrPath::parse) {
            let Some(key) = object
                .keys()
                .find(|k| k.eq_ignore_ascii_case(&path.top) && *k != "id" && *k != "schemas")
                .cloned()
            else {
                continue;
            };
            match &path.sub {
                None => {
                    object.remove(&key);
                }
                Some(sub) => {
                    if let Some(inner) = object.get_mut(&key).and_then(Value::as_object_mut) {
                        inner.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                    }
                }
            }
        }
    }
}

/// An attribute path as `attributes` names it: the top-level member of the resource (an
/// extension's URN for its attributes) and perhaps one member beneath it.
struct AttrPath {
    top: String,
    sub: Option<String>,
}

impl AttrPath {
    fn parse(text: &str) -> Option<AttrPath> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let lower = text.to_ascii_lowercase();
        for urn in [ENTERPRISE, WORKFORCE] {
            let urn_lower = urn.to_ascii_lowercase();
            if lower == urn_lower {
                return Some(AttrPath {
                    top: urn.to_owned(),
                    sub: None,
                });
            }
            if let Some(attr) = lower.strip_prefix(&format!("{urn_lower}:")) {
                return Some(AttrPath {
                    top: urn.to_owned(),
                    sub: Some(attr.to_owned()),
                });
            }
        }
        let core = format!("{}:", USER.to_ascii_lowercase());
        let name = lower.strip_prefix(&core).unwrap_or(&lower);
        Some(match name.split_once('.') {
            Some((top, sub)) => AttrPath {
                top: top.to_owned(),
                sub: Some(sub.to_owned()),
            },
            None => AttrPath {
                top: name.to_owned(),
                sub: None,
            },
        })
    }
}

/// What a User body asks for, before codes are resolved against the organisation.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    pub department: Option<String>,
    pub staff_type: Option<String>,
    pub rank: Option<String>,
    pub fte: Option<f64>,
    /// `YYYY-MM-DD`.
    pub start_date: Option<String>,
}

/// The last name in an attribute path (`urn:...:User:department` -> `department`).
fn leaf(name: &str) -> &str {
    let name = name.split('[').next().unwrap_or(name);
    let name = name.rsplit(':').next().unwrap_or(name);
    name.rsplit('.').next().unwrap_or(name)
}

fn protected(name: &str) -> Result<(), ScimError> {
    let leaf = leaf(name);
    if is_protected_characteristic(leaf) {
        return Err(ScimError::bad(
            "invalidValue",
            format!(
                "`{leaf}` is a protected characteristic; it is only ever declared by the member of \
                 staff, never provisioned"
            ),
        ));
    }
    Ok(())
}

/// Refuses a document that names a protected characteristic anywhere: as an attribute, a
/// sub-attribute, an extension schema, or a PATCH path.
pub fn refuse_characteristics(value: &Value) -> Result<(), ScimError> {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                protected(key)?;
                if key.eq_ignore_ascii_case("schemas") {
                    for urn in inner.as_array().into_iter().flatten() {
                        protected(urn.as_str().unwrap_or(""))?;
                    }
                } else if key.eq_ignore_ascii_case("path") {
                    protected(inner.as_str().unwrap_or(""))?;
                    // `emails[type eq "x"].value` hides names inside the filter too.
                    for word in inner
                        .as_str()
                        .unwrap_or("")
                        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    {
                        protected(word)?;
                    }
                } else {
                    refuse_characteristics(inner)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(refuse_characteristics),
        _ => Ok(()),
    }
}

/// A member of an object by case-insensitive name (SCIM attribute names are).
fn get<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

fn text(map: &Map<String, Value>, name: &str) -> Result<Option<String>, ScimError> {
    match get(map, name) {
        None => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.len() > 100 || s.chars().any(char::is_control) {
                return Err(ScimError::bad(
                    "invalidValue",
                    format!("`{name}` must be at most 100 printable characters"),
                ));
            }
            Ok(Some(s.to_owned()))
        }
        Some(_) => Err(ScimError::bad(
            "invalidValue",
            format!("`{name}` must be a string"),
        )),
    }
}

/// A boolean, also as the strings `"True"`/`"False"` some identity providers send.
fn boolean(value: &Value, name: &str) -> Result<bool, ScimError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimError::bad(
            "invalidValue",
            format!("`{name}` must be a boolean"),
        )),
    }
}

fn object<'a>(
    map: &'a Map<String, Value>,
    urn: &str,
) -> Result<Option<&'a Map<String, Value>>, ScimError> {
    match get(map, urn) {
        None => Ok(None),
        Some(Value::Object(inner)) => Ok(Some(inner)),
        Some(_) => Err(ScimError::bad(
            "invalidValue",
            format!("`{urn}` must be an object"),
        )),
    }
}

/// Reads a POST or PUT body (or a patched document). Read-only attributes (`id`, `meta`, the
/// enterprise `employeeNumber`, `organization`, `division`) and attributes Declare does not
/// keep are ignored, as RFC 7643 §2.2 allows; protected characteristics are refused.
pub fn read_user(body: &Value) -> Result<UserInput, ScimError> {
    refuse_characteristics(body)?;
    let map = body
        .as_object()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "a User must be a JSON object"))?;
    let user_name = text(map, "userName")?.ok_or_else(|| {
        ScimError::bad(
            "invalidValue",
            "`userName` (the employee number) is required",
        )
    })?;
    let active = get(map, "active")
        .map(|v| boolean(v, "active"))
        .transpose()?
        .unwrap_or(true);
    let empty = Map::new();
    let enterprise = object(map, ENTERPRISE)?.unwrap_or(&empty);
    let workforce = object(map, WORKFORCE)?.unwrap_or(&empty);
    let fte = match get(workforce, "fte") {
        None => None,
        Some(v) => {
            let f = v
                .as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
            match f {
                Some(f) if f > 0.0 && f <= 1.0 => Some(f),
                _ => {
                    return Err(ScimError::bad(
                        "invalidValue",
                        "`fte` must be a number greater than 0 and at most 1",
                    ))
                }
            }
        }
    };
    let start_date = text(workforce, "startDate")?
        .map(|s| {
            // A SCIM dateTime is accepted too; only its date matters for a start date.
            let day = s.get(..10).unwrap_or(&s);
            NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map(|d| d.format("%Y-%m-%d").to_string())
                .map_err(|_| {
                    ScimError::bad(
                        "invalidValue",
                        format!("`startDate` `{s}` is not a dateTime (or a date, YYYY-MM-DD)"),
                    )
                })
        })
        .transpose()?;
    Ok(UserInput {
        user_name,
        external_id: text(map, "externalId")?,
        active,
        department: text(enterprise, "department")?,
        staff_type: text(workforce, "staffType")?,
        rank: text(workforce, "rank")?,
        fte,
        start_date,
    })
}

/// The attributes a PATCH path may name, with the object holding them (`None` = top level).
fn patch_target(path: &str) -> Result<(Option<&'static str>, &'static str), ScimError> {
    let lower = path.trim().to_ascii_lowercase();
    let (container, name) = if let Some(rest) =
        lower.strip_prefix(&format!("{}:", ENTERPRISE.to_ascii_lowercase()))
    {
        (Some(ENTERPRISE), rest.to_owned())
    } else if let Some(rest) = lower.strip_prefix(&format!("{}:", WORKFORCE.to_ascii_lowercase())) {
        (Some(WORKFORCE), rest.to_owned())
    } else if let Some(rest) = lower.strip_prefix(&format!("{}:", USER.to_ascii_lowercase())) {
        (None, rest.to_owned())
    } else {
        (None, lower)
    };
    let known: &[&'static str] = match container {
        None => &["userName", "externalId", "active"],
        Some(ENTERPRISE) => &["department"],
        Some(_) => &["staffType", "rank", "fte", "startDate"],
    };
    known
        .iter()
        .find(|k| k.eq_ignore_ascii_case(&name))
        .map(|k| (container, *k))
        .ok_or_else(|| {
            ScimError::bad(
                "invalidPath",
                format!("`{path}` is not an attribute Declare lets a client change"),
            )
        })
}

fn set(doc: &mut Map<String, Value>, container: Option<&str>, name: &str, value: Option<Value>) {
    let target = match container {
        None => doc,
        Some(urn) => {
            let key = doc
                .keys()
                .find(|k| k.eq_ignore_ascii_case(urn))
                .cloned()
                .unwrap_or_else(|| urn.to_owned());
            let entry = doc.entry(key).or_insert_with(|| json!({}));
            if !entry.is_object() {
                *entry = json!({});
            }
            match entry.as_object_mut() {
                Some(map) => map,
                None => return,
            }
        }
    };
    target.retain(|k, _| !k.eq_ignore_ascii_case(name));
    if let Some(value) = value {
        target.insert(name.to_owned(), value);
    }
}

/// Applies a PatchOp body to the current User document (as [`render_user`] made it). The
/// result is then read with [`read_user`] like a PUT, so PATCH and PUT share every rule.
pub fn apply_patch(doc: &mut Value, patch: &Value) -> Result<(), ScimError> {
    refuse_characteristics(patch)?;
    let ops = patch
        .as_object()
        .and_then(|p| get(p, "Operations"))
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::bad("invalidSyntax", "a PatchOp needs an `Operations` array"))?;
    let doc = doc
        .as_object_mut()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "the User is not an object"))?;
    for op in ops {
        let op_map = op
            .as_object()
            .ok_or_else(|| ScimError::bad("invalidSyntax", "each operation must be an object"))?;
        let kind = get(op_map, "op")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let path = get(op_map, "path").and_then(Value::as_str);
        let value = get(op_map, "value").cloned();
        match (kind.as_str(), path) {
            ("remove", None) => {
                return Err(ScimError::bad("noTarget", "`remove` needs a `path`"));
            }
            ("remove", Some(path)) => {
                let (container, name) = patch_target(path)?;
                set(doc, container, name, None);
            }
            ("add" | "replace", Some(path)) => {
                let (container, name) = patch_target(path)?;
                let value = value.ok_or_else(|| {
                    ScimError::bad(
                        "invalidValue",
                        format!("`{kind}` of `{path}` needs a `value`"),
                    )
                })?;
                set(doc, container, name, Some(value));
            }
            ("add" | "replace", None) => {
                let Some(Value::Object(values)) = value else {
                    return Err(ScimError::bad(
                        "invalidValue",
                        format!("`{kind}` without a `path` needs an object `value`"),
                    ));
                };
                for (key, inner) in values {
                    match (
                        inner,
                        [ENTERPRISE, WORKFORCE]
                            .iter()
                            .find(|u| u.eq_ignore_ascii_case(&key)),
                    ) {
                        (Value::Object(fields), Some(urn)) => {
                            for (name, v) in fields {
                                let (container, name) = patch_target(&format!("{urn}:{name}"))?;
                                set(doc, container, name, Some(v));
                            }
                        }
                        (inner, None) if key.contains(':') => {
                            let (container, name) = patch_target(&key)?;
                            set(doc, container, name, Some(inner));
                        }
                        (inner, _) => {
                            // Attributes Declare does not keep (displayName, emails...) are
                            // ignored, as on POST and PUT, so standard connectors work.
                            if let Ok((container, name)) = patch_target(&key) {
                                set(doc, container, name, Some(inner));
                            }
                        }
                    }
                }
            }
            _ => {
                return Err(ScimError::bad(
                    "invalidSyntax",
                    format!("unsupported operation `{kind}`: use add, replace or remove"),
                ));
            }
        }
    }
    Ok(())
}

/// An employee as SCIM shows it, codes resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: String,
    pub user_name: String,
    pub external_id: Option<String>,
    pub leave_date: Option<String>,
    pub organization: String,
    pub department: String,
    /// The parent unit's code: the command area a department sits in.
    pub division: Option<String>,
    pub staff_type: String,
    pub rank: Option<String>,
    pub fte: f64,
    pub start_date: String,
    pub last_modified: DateTime<Utc>,
}

impl UserRecord {
    /// A weak version over everything the representation shows: any change changes it.
    pub fn version(&self) -> String {
        let mut hash = Sha256::new();
        for part in [
            self.id.as_str(),
            &self.user_name,
            self.external_id.as_deref().unwrap_or("\u{0}"),
            self.leave_date.as_deref().unwrap_or("\u{0}"),
            &self.organization,
            &self.department,
            self.division.as_deref().unwrap_or("\u{0}"),
            &self.staff_type,
            self.rank.as_deref().unwrap_or("\u{0}"),
            &self.fte.to_string(),
            &self.start_date,
            &self.last_modified.to_rfc3339(),
        ] {
            hash.update(part.as_bytes());
            hash.update([0x1f]);
        }
        format!("W/\"{}\"", &hex::encode(hash.finalize())[..16])
    }
}

/// The SCIM representation of a User; `location` is its absolute URL.
pub fn render_user(user: &UserRecord, location: &str) -> Value {
    let mut doc = json!({
        "schemas": [USER, ENTERPRISE, WORKFORCE],
        "id": user.id,
        "userName": user.user_name,
        "active": user.leave_date.is_none(),
        ENTERPRISE: {
            "employeeNumber": user.user_name,
            "organization": user.organization,
            "department": user.department,
        },
        WORKFORCE: {
            "staffType": user.staff_type,
            "fte": user.fte,
            // A SCIM `dateTime` (RFC 7643 section 2.3.5: xsd:dateTime), midnight UTC of the
            // start date; a plain `YYYY-MM-DD` is still accepted on the way in.
            "startDate": format!("{}T00:00:00Z", user.start_date),
        },
        "meta": {
            "resourceType": "User",
            "lastModified": user.last_modified.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "location": location,
            "version": user.version(),
        },
    });
    if let Some(external) = &user.external_id {
        doc["externalId"] = json!(external);
    }
    if let Some(division) = &user.division {
        doc[ENTERPRISE]["division"] = json!(division);
    }
    if let Some(rank) = &user.rank {
        doc[WORKFORCE]["rank"] = json!(rank);
    }
    doc
}

/// True when an `If-Match` header admits the current version (`*`, or one of its tags; the
/// `W/` prefix is ignored because every Declare version is weak).
pub fn if_match_allows(header: &str, current: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    header
        .split(',')
        .any(|tag| tag.trim() == "*" || bare(tag) == bare(current))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn record() -> UserRecord {
        UserRecord {
            id: "e1".into(),
            user_name: "E100".into(),
            external_id: Some("sub-1".into()),
            leave_date: None,
            organization: "Test police".into(),
            department: "north".into(),
            division: Some("force".into()),
            staff_type: "police_officer".into(),
            rank: Some("pc".into()),
            fte: 1.0,
            start_date: "2020-01-02".into(),
            last_modified: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        }
    }

    fn one(attribute: FilterAttribute, op: FilterOp, value: &str) -> Filter {
        Filter(vec![Clause {
            attribute,
            op,
            value: value.into(),
        }])
    }

    #[test]
    fn filters_on_the_two_keys_with_eq_sw_co_and_and() {
        use FilterAttribute::*;
        use FilterOp::*;
        assert_eq!(
            parse_filter(r#"userName eq "E1""#).unwrap(),
            one(UserName, Eq, "E1")
        );
        assert_eq!(
            parse_filter(r#"EXTERNALID Eq "a \"b\"""#).unwrap(),
            one(ExternalId, Eq, "a \"b\"")
        );
        assert_eq!(
            parse_filter(&format!("{USER}:userName eq \"x\"")).unwrap(),
            one(UserName, Eq, "x")
        );
        assert_eq!(
            parse_filter(r#"userName sw "E1""#).unwrap(),
            one(UserName, StartsWith, "E1")
        );
        assert_eq!(
            parse_filter(r#"userName co "and x""#).unwrap(),
            one(UserName, Contains, "and x")
        );
        assert_eq!(
            parse_filter(r#"userName sw "E" AND externalId eq "s 1""#).unwrap(),
            Filter(vec![
                Clause {
                    attribute: UserName,
                    op: StartsWith,
                    value: "E".into()
                },
                Clause {
                    attribute: ExternalId,
                    op: Eq,
                    value: "s 1".into()
                },
            ])
        );
        for bad in [
            r#"userName gt "E""#,
            r#"displayName eq "E""#,
            r#"userName eq "a" or userName eq "b""#,
            r#"userName eq "a" and"#,
            r#"(userName eq "a")"#,
            "userName eq E1",
            "userName",
            "",
        ] {
            assert_eq!(
                parse_filter(bad).unwrap_err().scim_type,
                Some("invalidFilter"),
                "{bad}"
            );
        }
    }

    #[test]
    fn attributes_and_excluded_attributes_project_a_user() {
        let doc = render_user(&record(), "http://x/scim/v2/Users/e1");
        let mut only = doc.clone();
        project(
            &mut only,
            Some(&format!("userName,{ENTERPRISE}:department,meta.version")),
            None,
        );
        let keys: Vec<&String> = only.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 5, "{only}");
        assert_eq!(only["userName"], doc["userName"]);
        assert_eq!(only["id"], doc["id"]);
        assert_eq!(only[ENTERPRISE].as_object().unwrap().len(), 1);
        assert_eq!(only["meta"].as_object().unwrap().len(), 1);

        let mut without = doc.clone();
        project(
            &mut without,
            None,
            Some(&format!("externalId,{WORKFORCE},id")),
        );
        assert!(without.get("externalId").is_none());
        assert!(without.get(WORKFORCE).is_none());
        assert_eq!(without["id"], doc["id"], "id is always returned");
        assert_eq!(without["userName"], doc["userName"]);
    }

    #[test]
    fn a_user_round_trips_through_its_representation() {
        let doc = render_user(&record(), "http://x/scim/v2/Users/e1");
        let input = read_user(&doc).unwrap();
        assert_eq!(input.user_name, "E100");
        assert_eq!(input.external_id.as_deref(), Some("sub-1"));
        assert!(input.active);
        assert_eq!(input.department.as_deref(), Some("north"));
        assert_eq!(input.staff_type.as_deref(), Some("police_officer"));
        assert_eq!(input.rank.as_deref(), Some("pc"));
        assert_eq!(input.start_date.as_deref(), Some("2020-01-02"));
        assert_eq!(doc["meta"]["version"], json!(record().version()));
    }

    #[test]
    fn characteristics_are_refused_wherever_they_appear() {
        for body in [
            json!({"userName": "E1", "ethnicity": "x"}),
            json!({"userName": "E1", ENTERPRISE: {"department": "n", "Gender": "x"}}),
            json!({"userName": "E1", "schemas": [USER, "urn:acme:religion"]}),
            json!({"userName": "E1", "urn:acme:ext": {"disability_status": "yes"}}),
        ] {
            let err = read_user(&body).unwrap_err();
            assert_eq!(err.scim_type, Some("invalidValue"), "{body}");
        }
        let patch = json!({"Operations": [{"op": "add", "path": "urn:acme:User:sexualOrientation", "value": "x"}]});
        let err = apply_patch(&mut render_user(&record(), "l"), &patch).unwrap_err();
        assert!(err.detail.contains("sexualOrientation"), "{}", err.detail);
        // Innocent names that contain a short characteristic word are not refused.
        assert!(read_user(
            &json!({"userName": "E1", ENTERPRISE: {"division": "sussex_division", "manager": {}}})
        )
        .is_ok());
    }

    #[test]
    fn patch_changes_named_attributes_and_merges_objects() {
        let mut doc = render_user(&record(), "l");
        let patch = json!({"schemas": [PATCH_OP], "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "remove", "path": "externalId"},
            {"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "south"},
            {"op": "add", "value": {"userName": "E200", "displayName": "ignored",
                WORKFORCE: {"rank": "sgt", "fte": 0.5}}},
        ]});
        apply_patch(&mut doc, &patch).unwrap();
        let input = read_user(&doc).unwrap();
        assert!(!input.active);
        assert_eq!(input.external_id, None);
        assert_eq!(input.department.as_deref(), Some("south"));
        assert_eq!(input.user_name, "E200");
        assert_eq!(input.rank.as_deref(), Some("sgt"));
        assert_eq!(input.fte, Some(0.5));
        let bad = json!({"Operations": [{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "x"}]});
        assert_eq!(
            apply_patch(&mut doc, &bad).unwrap_err().scim_type,
            Some("invalidPath")
        );
        let bad = json!({"Operations": [{"op": "move", "path": "active"}]});
        assert_eq!(
            apply_patch(&mut doc, &bad).unwrap_err().scim_type,
            Some("invalidSyntax")
        );
    }

    #[test]
    fn versions_change_with_the_record_and_if_match_compares_them() {
        let a = record();
        let mut b = record();
        b.fte = 0.5;
        assert_ne!(a.version(), b.version());
        assert!(a.version().starts_with("W/\""));
        assert!(if_match_allows(&a.version(), &a.version()));
        assert!(if_match_allows(
            a.version().trim_start_matches("W/"),
            &a.version()
        ));
        assert!(if_match_allows("*", &a.version()));
        assert!(!if_match_allows(&b.version(), &a.version()));
    }

    #[test]
    fn invalid_values_are_named() {
        let err = read_user(&json!({"userName": "E1", WORKFORCE: {"fte": 3}})).unwrap_err();
        assert!(err.detail.contains("fte"));
        let err = read_user(&json!({"userName": "E1", WORKFORCE: {"startDate": "02/01/2020"}}))
            .unwrap_err();
        assert!(err.detail.contains("startDate"));
        assert!(read_user(&json!({"externalId": "x"}))
            .unwrap_err()
            .detail
            .contains("userName"));
        assert!(read_user(&json!({"userName": "E1", "active": 3})).is_err());
    }
}
