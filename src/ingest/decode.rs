//! Bytes to text: BOM, UTF-8 or Windows-1252, and the checks that reject empty or binary files.
//!
//! Invariant: whatever bytes come in, the result is either a `String` or a typed error; this
//! module never panics (it is fuzzed with arbitrary bytes in `ingest::tests`).

use super::IngestError;
use std::path::Path;

/// The encoding a file was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Windows1252,
}

/// Decoded text plus the encoding that was used.
#[derive(Debug)]
pub struct Decoded {
    pub text: String,
    pub encoding: Encoding,
}

/// Decode `bytes` read from `path` (the path is only used in error messages).
pub fn decode(path: &Path, bytes: &[u8]) -> Result<Decoded, IngestError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
        });
    }
    if let Some(pos) = bytes.iter().position(|&b| b == 0) {
        return Err(IngestError::Binary {
            path: path.to_path_buf(),
            why: format!("NUL byte at offset {pos}"),
        });
    }
    let (body, bom) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    let decoded = match std::str::from_utf8(body) {
        Ok(s) => Decoded {
            text: s.to_owned(),
            encoding: if bom {
                Encoding::Utf8Bom
            } else {
                Encoding::Utf8
            },
        },
        Err(_) => {
            let (cow, _, _) = encoding_rs::WINDOWS_1252.decode(body);
            Decoded {
                text: cow.into_owned(),
                encoding: Encoding::Windows1252,
            }
        }
    };
    // Text saved from a word processor has few control characters; an image or an archive that
    // happens to be NUL-free has many.
    let total = decoded.text.chars().count().max(1);
    let controls = decoded
        .text
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\x0c'))
        .count();
    if controls * 20 > total {
        return Err(IngestError::Binary {
            path: path.to_path_buf(),
            why: format!("{controls} control characters in {total}"),
        });
    }
    if decoded.text.chars().all(|c| !c.is_alphanumeric()) {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(decoded)
}

/// Split text into lines on LF, CRLF or lone CR, without the terminators.
pub fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&text[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&text[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        lines.push(&text[start..]);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_of_every_kind_split_alike() {
        assert_eq!(split_lines("a\nb\r\nc\rd"), vec!["a", "b", "c", "d"]);
        assert_eq!(split_lines("a\n\nb\n"), vec!["a", "", "b"]);
    }

    #[test]
    fn windows_1252_is_decoded() {
        let d = decode(Path::new("x.txt"), b"co\xf6peratie \x93chat\x94").unwrap();
        assert_eq!(d.encoding, Encoding::Windows1252);
        assert_eq!(d.text, "coöperatie \u{201c}chat\u{201d}");
    }

    #[test]
    fn bom_is_stripped() {
        let d = decode(Path::new("x.txt"), b"\xEF\xBB\xBFhallo").unwrap();
        assert_eq!(d.encoding, Encoding::Utf8Bom);
        assert_eq!(d.text, "hallo");
    }

    #[test]
    fn empty_and_binary_are_rejected() {
        assert!(matches!(
            decode(Path::new("e.txt"), b" \n\n"),
            Err(IngestError::Empty { .. })
        ));
        assert!(matches!(
            decode(Path::new("b.txt"), b"PK\x03\x04\x00\x00"),
            Err(IngestError::Binary { .. })
        ));
        assert!(matches!(
            decode(Path::new("c.txt"), &[1u8, 2, 3, 4, 5, 6, b'a']),
            Err(IngestError::Binary { .. })
        ));
    }
}
