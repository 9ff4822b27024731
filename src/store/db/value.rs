//! Store stage, database access: the values that cross between the store and either
//! backend — parameters borrowed from the caller, column values owned — and the row and
//! parameter shapes the store writes them in (rusqlite's, kept so the store reads alike).
//!
//! Invariants: an integer that does not fit its Rust type is an error naming its column,
//! never a wrapped value; `params![…]` borrows, it never copies the text it passes. A list
//! of texts is one parameter (`Connection::in_list` says how a statement reads it).

use super::{DbError, Result};

/// A parameter, borrowed from the caller.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
    /// Several texts, for `x IN list` (see `Connection::in_list`).
    List(&'a [&'a str]),
}

/// A column's value, owned.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Int(_) => "integer",
            Value::Real(_) => "real",
            Value::Text(_) => "text",
            Value::Blob(_) => "blob",
        }
    }
}

pub trait ToValue {
    fn to_param(&self) -> Param<'_>;
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_param(&self) -> Param<'_> {
        (**self).to_param()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_param(&self) -> Param<'_> {
        self.as_ref().map_or(Param::Null, ToValue::to_param)
    }
}

macro_rules! int_to_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_param(&self) -> Param<'_> {
                Param::Int(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
    )*};
}
int_to_value!(i64, i32, u32, u64, usize, u16, u8);

impl ToValue for bool {
    fn to_param(&self) -> Param<'_> {
        Param::Int(i64::from(*self))
    }
}
impl ToValue for f64 {
    fn to_param(&self) -> Param<'_> {
        Param::Real(*self)
    }
}
impl ToValue for str {
    fn to_param(&self) -> Param<'_> {
        Param::Text(self)
    }
}
impl ToValue for String {
    fn to_param(&self) -> Param<'_> {
        Param::Text(self)
    }
}
impl ToValue for [u8] {
    fn to_param(&self) -> Param<'_> {
        Param::Blob(self)
    }
}
impl ToValue for Vec<u8> {
    fn to_param(&self) -> Param<'_> {
        Param::Blob(self)
    }
}
impl ToValue for [&str] {
    fn to_param(&self) -> Param<'_> {
        Param::List(self)
    }
}
impl ToValue for Vec<&str> {
    fn to_param(&self) -> Param<'_> {
        Param::List(self)
    }
}

impl ToValue for Value {
    fn to_param(&self) -> Param<'_> {
        match self {
            Value::Null => Param::Null,
            Value::Int(i) => Param::Int(*i),
            Value::Real(f) => Param::Real(*f),
            Value::Text(s) => Param::Text(s),
            Value::Blob(b) => Param::Blob(b),
        }
    }
}

pub trait FromValue: Sized {
    fn from_value(v: &Value, col: usize) -> Result<Self>;
}

fn mismatch<T>(v: &Value, col: usize, want: &'static str) -> Result<T> {
    Err(DbError::Type {
        col,
        want,
        found: v.kind(),
    })
}

impl FromValue for i64 {
    fn from_value(v: &Value, col: usize) -> Result<Self> {
        match v {
            Value::Int(i) => Ok(*i),
            _ => mismatch(v, col, "integer"),
        }
    }
}

macro_rules! int_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: &Value, col: usize) -> Result<Self> {
                let i = i64::from_value(v, col)?;
                <$t>::try_from(i).or_else(|_| mismatch(v, col, stringify!($t)))
            }
        }
    )*};
}
int_from_value!(i32, u32, u64, usize);

impl FromValue for bool {
    fn from_value(v: &Value, col: usize) -> Result<Self> {
        Ok(i64::from_value(v, col)? != 0)
    }
}
impl FromValue for f64 {
    fn from_value(v: &Value, col: usize) -> Result<Self> {
        match v {
            Value::Real(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            _ => mismatch(v, col, "real"),
        }
    }
}
impl FromValue for String {
    fn from_value(v: &Value, col: usize) -> Result<Self> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            _ => mismatch(v, col, "text"),
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(v: &Value, col: usize) -> Result<Self> {
        match v {
            Value::Blob(b) => Ok(b.clone()),
            _ => mismatch(v, col, "blob"),
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value, col: usize) -> Result<Self> {
        match v {
            Value::Null => Ok(None),
            _ => T::from_value(v, col).map(Some),
        }
    }
}
impl FromValue for Value {
    fn from_value(v: &Value, _: usize) -> Result<Self> {
        Ok(v.clone())
    }
}

/// One result row.
pub struct Row {
    pub(super) values: Vec<Value>,
}

/// A column's position (rusqlite's spelling, `r.get(0)`, kept so that the store reads alike
/// on both backends).
pub trait RowIndex {
    fn index(self) -> usize;
}
impl RowIndex for usize {
    fn index(self) -> usize {
        self
    }
}

impl Row {
    pub fn get<I: RowIndex, T: FromValue>(&self, idx: I) -> Result<T> {
        let i = idx.index();
        match self.values.get(i) {
            Some(v) => T::from_value(v, i),
            None => mismatch(&Value::Null, i, "a column"),
        }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// What a statement is given: `[]`, `[a]`, `[a, b]` of one type, or `params![…]`.
pub trait Params {
    fn collect(&self) -> Vec<Param<'_>>;
}

impl Params for [&dyn ToValue; 0] {
    fn collect(&self) -> Vec<Param<'_>> {
        Vec::new()
    }
}
impl Params for &[&dyn ToValue] {
    fn collect(&self) -> Vec<Param<'_>> {
        self.iter().map(|p| p.to_param()).collect()
    }
}
/// Parameters gathered at run time (rows written several at a time).
impl Params for &[Param<'_>] {
    fn collect(&self) -> Vec<Param<'_>> {
        self.to_vec()
    }
}
macro_rules! array_params {
    ($($n:literal),*) => {$(
        impl<T: ToValue> Params for [T; $n] {
            fn collect(&self) -> Vec<Param<'_>> {
                self.iter().map(ToValue::to_param).collect()
            }
        }
    )*};
}
array_params!(1, 2, 3, 4, 5, 6, 7, 8);

/// `params![a, b, c]`: parameters of different types.
#[macro_export]
macro_rules! params {
    () => { &[] as &[&dyn $crate::store::db::ToValue] };
    ($($p:expr),+ $(,)?) => { &[$(&$p as &dyn $crate::store::db::ToValue),+] as &[&dyn $crate::store::db::ToValue] };
}
pub use crate::params;

/// `.optional()` on a single-row result: no row is `None`, not an error.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}
impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(DbError::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
