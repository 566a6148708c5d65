//! The swarm's root CA: an ECDSA P-256 key and a self-signed certificate (CN `swarm-ca`,
//! 20 years, as swarmkit makes it), generated at `swarm init` and again on
//! `swarm ca --rotate`. Its certificate and key live in the cluster object of the raft log
//! (encrypted at rest like everything there); `TLSInfo` is what Docker shows of it: the
//! PEM trust root, and the DER of the certificate's subject and public key (base64 in
//! JSON) — the issuer of every node certificate.

use base64::Engine as _;
use berth_api::swarm::TlsInfo;
use chrono::Datelike;

/// A root CA: the certificate and its private key, PEM.
#[derive(Debug, Clone, PartialEq)]
pub struct RootCa {
    pub cert_pem: String,
    pub key_pem: String,
}

/// swarmkit's root CA validity.
const ROOT_YEARS: i32 = 20;

pub fn generate() -> Result<RootCa, String> {
    let key = rcgen::KeyPair::generate().map_err(|e| format!("root CA key: {e}"))?;
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, "swarm-ca");
    params.distinguished_name = dn;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    // A day back, as CAs backdate against clock skew.
    let from = chrono::Utc::now() - chrono::Duration::days(1);
    params.not_before = rcgen::date_time_ymd(from.year(), from.month() as u8, from.day() as u8);
    params.not_after = rcgen::date_time_ymd(
        from.year() + ROOT_YEARS,
        from.month() as u8,
        from.day().min(28) as u8,
    );
    let cert = params
        .self_signed(&key)
        .map_err(|e| format!("root CA certificate: {e}"))?;
    Ok(RootCa {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Docker's `TLSInfo` of a root CA certificate.
pub fn tls_info(cert_pem: &str) -> Result<TlsInfo, String> {
    let der = pem_der(cert_pem)?;
    let (subject, spki) = subject_and_key(&der)?;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    Ok(TlsInfo {
        trust_root: cert_pem.to_string(),
        cert_issuer_subject: b64(subject),
        cert_issuer_public_key: b64(spki),
    })
}

fn pem_der(pem: &str) -> Result<Vec<u8>, String> {
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .map_err(|e| format!("bad certificate PEM: {e}"))
}

/// A DER element: its whole encoding, its contents, and what follows it.
type Tlv<'a> = (&'a [u8], &'a [u8], &'a [u8]);

/// One DER element at the start of `b`.
fn tlv(b: &[u8]) -> Result<Tlv<'_>, String> {
    let bad = || "bad certificate DER".to_string();
    if b.len() < 2 {
        return Err(bad());
    }
    let (len, head): (usize, usize) = match b[1] {
        l if l < 0x80 => (l as usize, 2),
        0x81 => (*b.get(2).ok_or_else(bad)? as usize, 3),
        0x82 => (
            u16::from_be_bytes([*b.get(2).ok_or_else(bad)?, *b.get(3).ok_or_else(bad)?]) as usize,
            4,
        ),
        _ => return Err(bad()),
    };
    let end = head
        .checked_add(len)
        .filter(|e| *e <= b.len())
        .ok_or_else(bad)?;
    Ok((&b[..end], &b[head..end], &b[end..]))
}

/// The subject Name and SubjectPublicKeyInfo of an X.509 certificate, as DER.
fn subject_and_key(cert: &[u8]) -> Result<(&[u8], &[u8]), String> {
    let (_, cert_body, _) = tlv(cert)?;
    let (_, tbs, _) = tlv(cert_body)?;
    let mut rest = tbs;
    // [0] version (optional), serial, signature, issuer, validity, subject, spki.
    if rest.first() == Some(&0xa0) {
        rest = tlv(rest)?.2;
    }
    for _ in 0..4 {
        rest = tlv(rest)?.2;
    }
    let (subject, _, rest) = tlv(rest)?;
    let (spki, _, _) = tlv(rest)?;
    Ok((subject, spki))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_ca_and_its_tls_info() {
        let ca = generate().unwrap();
        assert!(ca.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(ca.key_pem.contains("PRIVATE KEY"));
        let info = tls_info(&ca.cert_pem).unwrap();
        let subject = base64::engine::general_purpose::STANDARD
            .decode(&info.cert_issuer_subject)
            .unwrap();
        // A Name SEQUENCE holding the CN "swarm-ca".
        assert_eq!(subject[0], 0x30);
        assert!(subject.windows(8).any(|w| w == b"swarm-ca"));
        let spki = base64::engine::general_purpose::STANDARD
            .decode(&info.cert_issuer_public_key)
            .unwrap();
        assert_eq!(spki[0], 0x30);
        // id-ecPublicKey (1.2.840.10045.2.1)
        assert!(spki
            .windows(9)
            .any(|w| w == [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]));
        assert_ne!(
            generate().unwrap().cert_pem,
            ca.cert_pem,
            "a new key each time"
        );
    }
}
