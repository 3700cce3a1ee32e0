//! Whether a configured secret is good enough to protect a real cluster: not a placeholder
//! copied from `deploy/` (`CHANGE-ME-...`), and long enough that guessing it is hopeless. Both
//! the node and the gateway refuse to start on a weak secret, with a message that says how to
//! make a good one.

/// Bytes of a cluster secret: it signs every gateway-to-node request (HMAC-SHA256), so it gets
/// a full key's worth.
pub const MIN_CLUSTER_SECRET_BYTES: usize = 32;
/// Bytes of an S3 secret key (AWS's own are 40 characters).
pub const MIN_ROOT_SECRET_BYTES: usize = 16;

/// The command the error messages suggest.
pub const MAKE_ONE: &str = "make one with `head -c 32 /dev/urandom | base64`";

/// `Err` with an operator's message when `value`, configured as `name`, is a placeholder or
/// shorter than `min_bytes`.
pub fn check(name: &str, value: &str, min_bytes: usize) -> Result<(), String> {
    let folded = value.to_ascii_lowercase().replace(['-', '_'], "");
    if folded.contains("changeme") {
        return Err(format!(
            "{name} is still the placeholder from the example config; {MAKE_ONE}"
        ));
    }
    if value.trim().len() < min_bytes {
        return Err(format!(
            "{name} is {} bytes, below the minimum of {min_bytes}; {MAKE_ONE}",
            value.trim().len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_short_secrets_are_refused() {
        let err = check("cluster_secret", "CHANGE-ME-CLUSTER-SECRET", 4).unwrap_err();
        assert!(err.contains("placeholder"), "{err}");
        assert!(check("x", "please_changeme_now_0123456789abcdef", 4).is_err());
        let err = check("secret_key", "short", 16).unwrap_err();
        assert!(err.contains("5 bytes, below the minimum of 16"), "{err}");
        assert!(check("secret_key", "0123456789abcdef", 16).is_ok());
        assert!(check("cluster_secret", &"k".repeat(31), MIN_CLUSTER_SECRET_BYTES).is_err());
        assert!(check("cluster_secret", &"k".repeat(32), MIN_CLUSTER_SECRET_BYTES).is_ok());
    }
}
