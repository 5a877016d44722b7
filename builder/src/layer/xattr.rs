//! l*xattr(2) on paths, never following a final symlink.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// (name, value) pairs, in the order they are written.
pub(crate) type Xattrs = Vec<(Vec<u8>, Vec<u8>)>;

fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

fn cname(n: &[u8]) -> io::Result<CString> {
    CString::new(n).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "xattr name with NUL"))
}

/// Calls `f(buf)` with a growing buffer until the value fits.
fn sized(mut f: impl FnMut(&mut [u8]) -> isize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    loop {
        let n = f(&mut buf);
        if n >= 0 {
            buf.truncate(n as usize);
            return Ok(buf);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ERANGE) || buf.len() >= 1 << 24 {
            return Err(e);
        }
        let len = buf.len() * 4;
        buf.resize(len, 0);
    }
}

/// The names of `p`'s xattrs, sorted (so the tar is deterministic).
pub(crate) fn list(p: &Path) -> io::Result<Vec<Vec<u8>>> {
    let c = cpath(p)?;
    let raw = sized(|buf| {
        // SAFETY: c is NUL-terminated; buf is valid for buf.len() bytes.
        unsafe { libc::llistxattr(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) }
    });
    let raw = match raw {
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => return Ok(Vec::new()),
        r => r?,
    };
    let mut names: Vec<Vec<u8>> = raw
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    names.sort();
    Ok(names)
}

/// The value of `p`'s xattr `name`, or None when it has none.
pub(crate) fn get(p: &Path, name: &[u8]) -> io::Result<Option<Vec<u8>>> {
    let (c, n) = (cpath(p)?, cname(name)?);
    let r = sized(|buf| {
        // SAFETY: c and n are NUL-terminated; buf is valid for buf.len() bytes.
        unsafe { libc::lgetxattr(c.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) }
    });
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENODATA) | Some(libc::EOPNOTSUPP)
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Sets `p`'s xattr `name` to `value`.
pub(crate) fn set(p: &Path, name: &[u8], value: &[u8]) -> io::Result<()> {
    let (c, n) = (cpath(p)?, cname(name)?);
    // SAFETY: c and n are NUL-terminated; value is valid for value.len() bytes.
    let r = unsafe {
        libc::lsetxattr(
            c.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets the xattr `name` on the open file `fd`.
pub(crate) fn fset(fd: std::os::fd::BorrowedFd<'_>, name: &[u8], value: &[u8]) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let n = cname(name)?;
    // SAFETY: fd is open for the call; n is NUL-terminated; value is valid
    // for value.len() bytes.
    let r = unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
