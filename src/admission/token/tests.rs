use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;

use super::*;

const ADMITTED_AT: UnixMillis = 1_800_000_000_000;
const EXPIRES_AT: UnixMillis = ADMITTED_AT + 120_000;

fn event() -> EventId {
    EventId::parse("spring-sale").unwrap()
}

fn signed(keys: &SigningKeys, ticket: TicketId) -> String {
    sign_admission(keys, "alice", &event(), ticket, ADMITTED_AT, EXPIRES_AT).unwrap()
}

fn expecting<'a>(subject: &'a str, event: &'a EventId) -> Expected<'a> {
    Expected {
        subject: Some(subject),
        event: Some(event),
    }
}

#[test]
fn a_signed_admission_verifies_with_its_claims() {
    let keys = SigningKeys::generate().unwrap();
    let ticket = TicketId::random();
    let token = signed(&keys, ticket);
    let event = event();
    let admission = AdmissionVerifier::from_keys(&keys)
        .verify(&token, ADMITTED_AT + 1_000, expecting("alice", &event))
        .unwrap();
    assert_eq!(admission.ticket_id, ticket);
    assert_eq!(admission.subject, "alice");
    assert_eq!(admission.expires_at, EXPIRES_AT);
}

#[test]
fn re_signing_an_admission_gives_the_same_token() {
    let keys = SigningKeys::generate().unwrap();
    let ticket = TicketId::random();
    assert_eq!(signed(&keys, ticket), signed(&keys, ticket));
}

#[test]
fn the_header_names_eddsa_and_the_key() {
    let keys = SigningKeys::generate().unwrap();
    let header = jsonwebtoken::decode_header(signed(&keys, TicketId::random())).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), Some(keys.current().kid.as_str()));
}

#[test]
fn expired_foreign_and_misdirected_tokens_are_refused() {
    let keys = SigningKeys::generate().unwrap();
    let verifier = AdmissionVerifier::from_keys(&keys);
    let token = signed(&keys, TicketId::random());
    let event = event();
    let other_event = EventId::parse("other-sale").unwrap();
    let at = ADMITTED_AT + 1_000;
    assert_eq!(
        verifier.verify(&token, EXPIRES_AT, expecting("alice", &event)),
        Err(AdmissionError::Expired)
    );
    assert_eq!(
        verifier.verify(&token, at, expecting("bob", &event)),
        Err(AdmissionError::OtherSubject)
    );
    assert_eq!(
        verifier.verify(&token, at, expecting("alice", &other_event)),
        Err(AdmissionError::OtherEvent)
    );
    let stranger = AdmissionVerifier::from_keys(&SigningKeys::generate().unwrap());
    assert_eq!(
        stranger.verify(&token, at, expecting("alice", &event)),
        Err(AdmissionError::Invalid)
    );
}

#[test]
fn an_unsigned_token_is_refused() {
    let keys = SigningKeys::generate().unwrap();
    let token = signed(&keys, TicketId::random());
    let mut parts = token.split('.');
    let payload = parts.nth(1).unwrap();
    let header = URL_SAFE_NO_PAD
        .encode(format!(r#"{{"alg":"none","kid":"{}"}}"#, keys.current().kid).as_bytes());
    let forged = format!("{header}.{payload}.");
    let event = event();
    assert_eq!(
        AdmissionVerifier::from_keys(&keys).verify(
            &forged,
            ADMITTED_AT,
            expecting("alice", &event)
        ),
        Err(AdmissionError::Invalid)
    );
}

#[test]
fn a_token_hmac_signed_with_the_public_key_is_refused() {
    let keys = SigningKeys::generate().unwrap();
    let public = URL_SAFE_NO_PAD.decode(&keys.current().x).unwrap();
    let claims: AdmissionClaims =
        jsonwebtoken::dangerous::insecure_decode_claims(signed(&keys, TicketId::random())).unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(keys.current().kid.clone());
    let forged =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&public)).unwrap();
    let event = event();
    assert_eq!(
        AdmissionVerifier::from_keys(&keys).verify(
            &forged,
            ADMITTED_AT,
            expecting("alice", &event)
        ),
        Err(AdmissionError::Invalid)
    );
}

#[test]
fn the_published_jwks_verifies_our_tokens() {
    let keys = SigningKeys::generate().unwrap();
    let verifier = AdmissionVerifier::from_jwks(&keys.jwks().to_string()).unwrap();
    let token = signed(&keys, TicketId::random());
    assert!(
        verifier
            .verify(&token, ADMITTED_AT, Expected::default())
            .is_ok()
    );
}
