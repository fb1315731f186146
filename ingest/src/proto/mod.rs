//! Hand-written prost message structs for the protocols Hearth speaks:
//! Prometheus remote write 1.0 and 2.0, Loki push.
//!
//! The structs encode and decode with `prost::Message`. The decoders walk the
//! outer messages with [`wire`] instead of letting prost materialise a whole
//! request at once, so that a small body cannot expand into gigabytes of
//! structs before any limit is checked.

pub mod loki_push;
pub mod remote_v1;
pub mod remote_v2;

/// A borrowing reader for the protobuf wire format: yields each field's tag and
/// raw value without allocating, leaving interpretation to the caller.
pub(crate) mod wire {
    use std::fmt;

    /// Groups are a proto2 relic no Prometheus message uses; prost bounds their
    /// nesting the same way.
    const MAX_GROUP_DEPTH: u32 = 100;

    /// One field's raw value.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) enum Value<'a> {
        /// Wire type 0.
        Varint(u64),
        /// Wire type 1.
        Fixed64(u64),
        /// Wire type 2: the payload, length prefix stripped.
        Bytes(&'a [u8]),
        /// Wire type 5.
        Fixed32(u32),
        /// Wire type 3 with everything up to its end marker (skipped).
        Group,
    }

    impl Value<'_> {
        /// The wire type's name for error messages.
        pub(crate) fn kind(&self) -> &'static str {
            match self {
                Value::Varint(_) => "varint",
                Value::Fixed64(_) => "64-bit",
                Value::Bytes(_) => "length-delimited",
                Value::Fixed32(_) => "32-bit",
                Value::Group => "group",
            }
        }
    }

    /// Malformed wire data.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub(crate) enum Error {
        /// A varint longer than 10 bytes or overflowing 64 bits.
        InvalidVarint,
        /// The buffer ended inside a field.
        Truncated,
        /// Field number 0 or a key beyond 32 bits.
        InvalidKey(u64),
        /// Wire types 6 and 7 do not exist.
        InvalidWireType(u64),
        /// An end-group marker without a matching start.
        UnexpectedEndGroup,
        /// Groups nested deeper than [`MAX_GROUP_DEPTH`].
        GroupTooDeep,
        /// A known field arrived with the wrong wire type.
        WrongWireType {
            /// Field number.
            tag: u32,
            /// What arrived.
            actual: &'static str,
            /// What the schema says.
            expected: &'static str,
        },
    }

    impl fmt::Display for Error {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Error::InvalidVarint => f.write_str("invalid varint"),
                Error::Truncated => f.write_str("message ends in the middle of a field"),
                Error::InvalidKey(key) => write!(f, "invalid field key {key}"),
                Error::InvalidWireType(t) => write!(f, "invalid wire type {t}"),
                Error::UnexpectedEndGroup => f.write_str("end-group marker without a start"),
                Error::GroupTooDeep => f.write_str("groups nested too deeply"),
                Error::WrongWireType {
                    tag,
                    actual,
                    expected,
                } => write!(f, "field {tag} has wire type {actual}, expected {expected}"),
            }
        }
    }

    /// Reads a varint from the front of `buf`, advancing it.
    pub(crate) fn read_varint(buf: &mut &[u8]) -> Result<u64, Error> {
        let mut value = 0u64;
        for (i, &byte) in buf.iter().enumerate().take(10) {
            // The tenth byte may only hold the 64th bit.
            if i == 9 && byte > 1 {
                return Err(Error::InvalidVarint);
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                *buf = &buf[i + 1..];
                return Ok(value);
            }
        }
        if buf.len() >= 10 {
            Err(Error::InvalidVarint)
        } else {
            Err(Error::Truncated)
        }
    }

    fn take<'a>(buf: &mut &'a [u8], n: u64) -> Result<&'a [u8], Error> {
        let n = usize::try_from(n).map_err(|_| Error::Truncated)?;
        if n > buf.len() {
            return Err(Error::Truncated);
        }
        let (head, tail) = buf.split_at(n);
        *buf = tail;
        Ok(head)
    }

    fn read_key(buf: &mut &[u8]) -> Result<(u32, u64), Error> {
        let key = read_varint(buf)?;
        let tag = u32::try_from(key >> 3).map_err(|_| Error::InvalidKey(key))?;
        if key > u64::from(u32::MAX) || tag == 0 {
            return Err(Error::InvalidKey(key));
        }
        Ok((tag, key & 7))
    }

    /// Reads one value of wire type `wire_type` for field `tag`.
    fn read_value<'a>(
        buf: &mut &'a [u8],
        tag: u32,
        wire_type: u64,
        depth: u32,
    ) -> Result<Value<'a>, Error> {
        Ok(match wire_type {
            0 => Value::Varint(read_varint(buf)?),
            1 => {
                let bytes = take(buf, 8)?;
                let mut le = [0u8; 8];
                le.copy_from_slice(bytes);
                Value::Fixed64(u64::from_le_bytes(le))
            }
            2 => {
                let len = read_varint(buf)?;
                Value::Bytes(take(buf, len)?)
            }
            3 => {
                if depth >= MAX_GROUP_DEPTH {
                    return Err(Error::GroupTooDeep);
                }
                loop {
                    let (inner_tag, inner_type) = read_key(buf)?;
                    if inner_type == 4 {
                        if inner_tag != tag {
                            return Err(Error::UnexpectedEndGroup);
                        }
                        break Value::Group;
                    }
                    read_value(buf, inner_tag, inner_type, depth + 1)?;
                }
            }
            4 => return Err(Error::UnexpectedEndGroup),
            5 => {
                let bytes = take(buf, 4)?;
                let mut le = [0u8; 4];
                le.copy_from_slice(bytes);
                Value::Fixed32(u32::from_le_bytes(le))
            }
            other => return Err(Error::InvalidWireType(other)),
        })
    }

    /// Iterates over the fields of one message.
    pub(crate) struct Fields<'a> {
        buf: &'a [u8],
    }

    impl<'a> Fields<'a> {
        /// Reads the fields of the message encoded in `buf`.
        pub(crate) fn new(buf: &'a [u8]) -> Self {
            Self { buf }
        }

        /// The next field, `None` at the end; after an error the reader stays
        /// wherever it stopped, so callers must give up.
        pub(crate) fn next_field(&mut self) -> Result<Option<(u32, Value<'a>)>, Error> {
            if self.buf.is_empty() {
                return Ok(None);
            }
            let (tag, wire_type) = read_key(&mut self.buf)?;
            let value = read_value(&mut self.buf, tag, wire_type, 0)?;
            Ok(Some((tag, value)))
        }
    }

    /// The payload of a length-delimited field.
    pub(crate) fn expect_bytes(tag: u32, value: Value<'_>) -> Result<&[u8], Error> {
        match value {
            Value::Bytes(bytes) => Ok(bytes),
            other => Err(Error::WrongWireType {
                tag,
                actual: other.kind(),
                expected: "length-delimited",
            }),
        }
    }

    /// The value of a varint field.
    pub(crate) fn expect_varint(tag: u32, value: Value<'_>) -> Result<u64, Error> {
        match value {
            Value::Varint(v) => Ok(v),
            other => Err(Error::WrongWireType {
                tag,
                actual: other.kind(),
                expected: "varint",
            }),
        }
    }

    /// The elements of a repeated varint field, which may arrive packed (one
    /// length-delimited run) or unpacked (one varint per field occurrence).
    pub(crate) fn varints(tag: u32, value: Value<'_>) -> Result<Varints<'_>, Error> {
        match value {
            Value::Varint(v) => Ok(Varints {
                single: Some(v),
                packed: &[],
            }),
            Value::Bytes(packed) => Ok(Varints {
                single: None,
                packed,
            }),
            other => Err(Error::WrongWireType {
                tag,
                actual: other.kind(),
                expected: "varint or packed varints",
            }),
        }
    }

    /// Iterator returned by [`varints`].
    pub(crate) struct Varints<'a> {
        single: Option<u64>,
        packed: &'a [u8],
    }

    impl Iterator for Varints<'_> {
        type Item = Result<u64, Error>;

        fn next(&mut self) -> Option<Self::Item> {
            if let Some(v) = self.single.take() {
                return Some(Ok(v));
            }
            if self.packed.is_empty() {
                return None;
            }
            let next = read_varint(&mut self.packed);
            if next.is_err() {
                self.packed = &[];
            }
            Some(next)
        }
    }
}
