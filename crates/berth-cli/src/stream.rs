//! Docker's multiplexed stream format: 8-byte header (stream type, 3 zero bytes, u32 BE
//! length) followed by the payload.

use std::io::{self, Read, Write};

/// Copies frames from `r` to `out` (stream 0/1) and `err` (stream 2) until EOF.
pub fn demux<R: Read, O: Write, E: Write>(mut r: R, out: &mut O, err: &mut E) -> io::Result<()> {
    let mut header = [0u8; 8];
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match read_full(&mut r, &mut header)? {
            0 => return Ok(()),
            8 => {}
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "short frame header",
                ))
            }
        }
        let stream = header[0];
        let mut len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
        while len > 0 {
            let n = len.min(buf.len());
            r.read_exact(&mut buf[..n])?;
            match stream {
                2 => {
                    err.write_all(&buf[..n])?;
                    err.flush()?;
                }
                0 | 1 => {
                    out.write_all(&buf[..n])?;
                    out.flush()?;
                }
                s => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("Unrecognized input header: {s}"),
                    ))
                }
            }
            len -= n;
        }
    }
}

/// Reads until `buf` is full or EOF; returns the bytes read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Builds one frame (used by tests).
pub fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![stream, 0, 0, 0];
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demultiplexes() {
        let mut data = frame(1, b"hello ");
        data.extend(frame(2, b"oops\n"));
        data.extend(frame(1, b"world\n"));
        let (mut o, mut e) = (Vec::new(), Vec::new());
        assert!(demux(&data[..], &mut o, &mut e).is_ok());
        assert_eq!(o, b"hello world\n");
        assert_eq!(e, b"oops\n");
    }

    #[test]
    fn truncated_frame_is_error() {
        let data = frame(1, b"hello");
        let (mut o, mut e) = (Vec::new(), Vec::new());
        assert!(demux(&data[..6], &mut o, &mut e).is_err());
        assert!(demux(&data[..9], &mut o, &mut e).is_err());
    }
}
