//! The key layout in Redis, the values stored under the keys, and the write scripts.
//!
//! ```text
//! <prefix>jtis:<shard> hash: <digest> -> "<until>"   revoked tokens, 65 536 shards
//! <prefix>sid:<sid>    "1:<until>"                    an ended session
//! <prefix>cut:<sub>    "<at>:<until>"                 the subject's cut-off (issued at or before <at>)
//! <prefix>ver:<sub>    "<version>:<until>"            the subject's current permission version
//! <prefix>revocations                                 the pub/sub channel; each message is the
//!                                                     kind and the id ("jti:<jti>", ...)
//! ```
//!
//! `<digest>` is the first 16 bytes of the SHA-256 of the `jti` (binary), `<shard>` its first
//! two bytes in lowercase hex (`0000` to `ffff`). `<until>` is the write's `until` plus the
//! store's leeway. Every key expires at its `<until>` (`EXPIREAT`); a shard expires at the
//! latest `<until>` of its fields, and its write script removes the fields whose `<until>` has
//! passed. The `<until>` in the value lets the write scripts keep the later expiry when two
//! writes meet.

use tollgate::revocation::{RevocationStoreError, RevocationStoreErrorKind};

/// What a key is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Jti,
    Sid,
    Cut,
    Ver,
}

impl Kind {
    /// The part of the key between the prefix and the id, with its separator.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Self::Jti => "jti:",
            Self::Sid => "sid:",
            Self::Cut => "cut:",
            Self::Ver => "ver:",
        }
    }

    /// The kind and the id of a published message, or `None` for a message this version does
    /// not know.
    pub(crate) fn parse_message(message: &[u8]) -> Option<(Self, &str)> {
        let message = std::str::from_utf8(message).ok()?;
        [Self::Jti, Self::Sid, Self::Cut, Self::Ver]
            .into_iter()
            .find_map(|kind| Some((kind, message.strip_prefix(kind.tag())?)))
    }
}

/// The fixed-width digest a revoked `jti` is stored under: the first 16 bytes of its SHA-256.
///
/// Two different ids share a digest with probability about 2^-128 per pair: such a collision
/// can only make an unrevoked token look revoked (a false refusal), never the reverse.
pub(crate) type Digest = [u8; 16];

/// The digest of `jti` (see [`Digest`]).
pub(crate) fn digest(jti: &str) -> Digest {
    let full = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, jti.as_bytes());
    let mut digest = [0; 16];
    digest.copy_from_slice(&full.as_ref()[..16]);
    digest
}

/// The names this store uses: keys and the channel, under one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
    channel: String,
}

impl Keys {
    pub(crate) fn new(prefix: String) -> Self {
        let channel = format!("{prefix}revocations");
        Self { prefix, channel }
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn channel(&self) -> &str {
        &self.channel
    }

    /// The Redis key for `id` of `kind`.
    pub(crate) fn key(&self, kind: Kind, id: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + 4 + id.len());
        key.push_str(&self.prefix);
        key.push_str(kind.tag());
        key.push_str(id);
        key
    }

    /// The hash that holds the revoked token of `digest`: `<prefix>jtis:<shard>`, the shard
    /// being the digest's first two bytes in lowercase hex.
    ///
    /// So revoked tokens are spread over 65 536 hashes. The number is fixed, since every
    /// process, the command-line tool and every version must find a `jti` in the same hash.
    /// Redis keeps a hash of at most 128 fields (`hash-max-listpack-entries`) in its compact
    /// listpack encoding: with 65 536 shards the fullest one stays under 128 fields up to
    /// about five million live revoked tokens.
    pub(crate) fn jti_shard(&self, digest: &Digest) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut key = String::with_capacity(self.prefix.len() + 9);
        key.push_str(&self.prefix);
        key.push_str("jtis:");
        for byte in &digest[..2] {
            key.push(char::from(HEX[usize::from(byte >> 4)]));
            key.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        key
    }

    /// The message published for a write to `id` of `kind`: `<kind>:<id>` (for a `sid`, `cut`
    /// or `ver` entry, its key without the prefix).
    pub(crate) fn message(kind: Kind, id: &str) -> String {
        let mut message = String::with_capacity(4 + id.len());
        message.push_str(kind.tag());
        message.push_str(id);
        message
    }
}

/// A stored value `<value>:<until>`, parsed.
pub(crate) fn parse_value<T: std::str::FromStr>(
    raw: &[u8],
) -> Result<(T, i64), RevocationStoreError> {
    let corrupt = || {
        RevocationStoreError::new(
            RevocationStoreErrorKind::Corrupt,
            "a revocation entry is not of the form <value>:<until>",
        )
    };
    let raw = std::str::from_utf8(raw).map_err(|_| corrupt())?;
    let (value, until) = raw.split_once(':').ok_or_else(corrupt)?;
    let until = until.parse().map_err(|_| corrupt())?;
    Ok((value.parse().map_err(|_| corrupt())?, until))
}

/// A revoked token's stored `<until>`, parsed.
pub(crate) fn parse_until(raw: &[u8]) -> Result<i64, RevocationStoreError> {
    std::str::from_utf8(raw)
        .ok()
        .and_then(|raw| raw.parse().ok())
        .ok_or_else(|| {
            RevocationStoreError::new(
                RevocationStoreErrorKind::Corrupt,
                "a revoked token's entry is not a decimal <until>",
            )
        })
}

/// Compares two decimal integers given as strings (sign, then length, then digits), so that
/// 64-bit values keep their precision (Lua numbers are doubles). Shared by both scripts.
macro_rules! lua_cmp {
    () => {
        r"
local function cmp(a, b)
  local na, nb = string.sub(a, 1, 1) == '-', string.sub(b, 1, 1) == '-'
  if na ~= nb then
    if na then return -1 else return 1 end
  end
  local r = 0
  if #a ~= #b then
    if #a < #b then r = -1 else r = 1 end
  elseif a ~= b then
    if a < b then r = -1 else r = 1 end
  end
  if na then r = -r end
  return r
end
"
    };
}

/// The script that revokes a token, in one atomic step: read the shard `KEYS[1]` once; keep
/// the later of the stored and the written `<until>` under the digest; remove every other
/// field whose `<until>` has passed (by the Redis server's clock); set the shard to expire at
/// the latest `<until>` left; publish the message. A revocation whose `<until>` has passed
/// stores nothing, and a shard left without fields is deleted by Redis.
///
/// `ARGV`: digest, until, channel, message.
pub(crate) const REVOKE_SCRIPT: &str = concat!(
    lua_cmp!(),
    r"
local field, untl = ARGV[1], ARGV[2]
local now = redis.call('TIME')[1]
local latest = nil
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local f, u = fields[i], fields[i + 1]
  if f == field then
    if cmp(u, untl) > 0 then untl = u end
  elseif cmp(u, now) <= 0 then
    redis.call('HDEL', KEYS[1], f)
  elseif latest == nil or cmp(u, latest) > 0 then
    latest = u
  end
end
if cmp(untl, now) > 0 then
  redis.call('HSET', KEYS[1], field, untl)
  if latest == nil or cmp(untl, latest) > 0 then latest = untl end
else
  redis.call('HDEL', KEYS[1], field)
end
if latest then redis.call('EXPIREAT', KEYS[1], latest) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
"
);

/// The write script: store `<value>:<until>` under `KEYS[1]` keeping the larger value and the
/// later `until` of what is there and what is written (so a later cut-off replaces an earlier
/// one and never the reverse, a version never goes down, and an expiry is never shortened),
/// set the key to expire at that `until`, and publish the message, all in one atomic step.
///
/// `ARGV`: value, until, channel, message. Values and untils are decimal integers, compared
/// as strings.
pub(crate) const WRITE_SCRIPT: &str = concat!(
    lua_cmp!(),
    r"
local value, untl = ARGV[1], ARGV[2]
local old = redis.call('GET', KEYS[1])
if old then
  local sep = string.find(old, ':', 1, true)
  if sep then
    local old_value, old_until = string.sub(old, 1, sep - 1), string.sub(old, sep + 1)
    if cmp(old_value, value) > 0 then value = old_value end
    if cmp(old_until, untl) > 0 then untl = old_until end
  end
end
redis.call('SET', KEYS[1], value .. ':' .. untl)
redis.call('EXPIREAT', KEYS[1], untl)
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_messages_follow_the_layout() {
        let keys = Keys::new("app:".to_owned());
        // The digest is the first 16 bytes of SHA-256("t-1"), the shard the first two of those:
        // every version finds a revoked token in the same place.
        let digest = digest("t-1");
        assert_eq!(
            digest,
            [
                0x46, 0xe9, 0xbc, 0x34, 0x76, 0xc9, 0x2e, 0xa2, 0x4f, 0xb1, 0x7a, 0xda, 0xc6, 0xcd,
                0x9c, 0xda
            ]
        );
        assert_eq!(keys.jti_shard(&digest), "app:jtis:46e9");
        assert_eq!(keys.jti_shard(&[0xff; 16]), "app:jtis:ffff");
        assert_eq!(keys.jti_shard(&[0x0a; 16]), "app:jtis:0a0a");
        assert_eq!(keys.key(Kind::Sid, "s"), "app:sid:s");
        assert_eq!(keys.key(Kind::Cut, "42"), "app:cut:42");
        assert_eq!(keys.key(Kind::Ver, "42"), "app:ver:42");
        assert_eq!(keys.channel(), "app:revocations");
        assert_eq!(Keys::message(Kind::Ver, "42"), "ver:42");
    }

    #[test]
    fn messages_parse_back_to_kind_and_id() {
        assert_eq!(Kind::parse_message(b"jti:a:b"), Some((Kind::Jti, "a:b")));
        assert_eq!(Kind::parse_message(b"cut:"), Some((Kind::Cut, "")));
        assert_eq!(Kind::parse_message(b"other:x"), None);
        assert_eq!(Kind::parse_message(b"\xff"), None);
    }

    #[test]
    fn values_round_trip_and_garbage_is_corrupt() {
        assert_eq!(
            parse_value::<u64>(b"7:1900000000").unwrap(),
            (7, 1_900_000_000)
        );
        assert_eq!(parse_value::<i64>(b"-5:10").unwrap(), (-5, 10));
        for garbage in [&b"7"[..], b"x:1", b"7:x", b"\xff:1"] {
            let error = parse_value::<u64>(garbage).unwrap_err();
            assert_eq!(error.kind(), RevocationStoreErrorKind::Corrupt);
        }
        assert_eq!(parse_until(b"1900000000").unwrap(), 1_900_000_000);
        for garbage in [&b""[..], b"1:1900000000", b"x", b"\xff"] {
            let error = parse_until(garbage).unwrap_err();
            assert_eq!(error.kind(), RevocationStoreErrorKind::Corrupt);
        }
    }
}
