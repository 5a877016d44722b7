//! The two spellings of deletions. In a layer tar (AUFS style, what every
//! registry image uses): an empty file `dir/.wh.NAME` deletes NAME, and
//! `dir/.wh..wh..opq` hides everything lower layers had in `dir`. In an
//! overlayfs dir: a char device 0:0 named NAME, and the xattr
//! `trusted.overlay.opaque=y` on `dir`.

pub(crate) const PREFIX: &[u8] = b".wh.";
pub(crate) const OPAQUE: &[u8] = b".wh..wh..opq";
/// `.wh..wh.*` other than OPAQUE: AUFS' own bookkeeping (`.wh..wh.plnk`,
/// `.wh..wh.aufs`): skipped, as Docker skips them.
pub(crate) const META_PREFIX: &[u8] = b".wh..wh.";

pub(crate) const OVERLAY_OPAQUE: &[u8] = b"trusted.overlay.opaque";
/// Rootless overlayfs (`userxattr`) spells it in the user namespace.
pub(crate) const USER_OVERLAY_OPAQUE: &[u8] = b"user.overlay.opaque";

/// overlayfs' own xattrs (opaque, redirect, origin, metacopy, ...): never
/// copied into a tar, never taken from one (a layer must not be able to
/// plant redirects in a lower dir).
pub(crate) fn is_overlay_xattr(name: &[u8]) -> bool {
    name.starts_with(b"trusted.overlay.") || name.starts_with(b"user.overlay.")
}

/// What an entry's final path component says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Marker<'a> {
    /// Not a whiteout: a real entry.
    None,
    /// `.wh..wh..opq`: the parent dir is opaque.
    Opaque,
    /// `.wh.NAME`: delete NAME.
    Delete(&'a [u8]),
    /// Other `.wh..wh.` bookkeeping: ignored.
    Meta,
}

pub(crate) fn marker(name: &[u8]) -> Marker<'_> {
    if name == OPAQUE {
        Marker::Opaque
    } else if name.starts_with(META_PREFIX) {
        Marker::Meta
    } else if let Some(n) = name.strip_prefix(PREFIX) {
        Marker::Delete(n)
    } else {
        Marker::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers() {
        assert_eq!(marker(b".wh..wh..opq"), Marker::Opaque);
        assert_eq!(marker(b".wh..wh.plnk"), Marker::Meta);
        assert_eq!(marker(b".wh.foo"), Marker::Delete(b"foo"));
        assert_eq!(marker(b"foo"), Marker::None);
        assert!(is_overlay_xattr(b"trusted.overlay.redirect"));
        assert!(!is_overlay_xattr(b"security.capability"));
    }
}
