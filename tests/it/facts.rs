//! Letter facts on the five letters of `input/`: what each says about itself, read by the rules
//! of the genre, right where the letter states it and absent where it does not.

use crate::support::letter;
use tolk::ingest::facts::{self, Facts};

fn facts_of(prefix: &str) -> Facts {
    let doc = tolk::ingest::read(&letter(prefix)).unwrap();
    facts::read(&doc)
}

fn values(f: &[facts::Fact]) -> Vec<&str> {
    f.iter().map(|x| x.value.as_str()).collect()
}

#[test]
fn the_offlimits_letter_is_from_offlimits_to_six_members_of_the_cabinet() {
    let f = facts_of("2024-09-18-offlimits");
    let date = f.date.as_ref().unwrap();
    assert_eq!((date.value.as_str(), date.lines), ("2024-09-18", [14, 14]));
    assert_eq!(f.sender.as_ref().unwrap().value, "Offlimits");
    assert_eq!(f.addressees.len(), 6, "{:?}", values(&f.addressees));
    assert_eq!(
        f.addressees[0].value,
        "Minister van Justitie en Veiligheid Van Weel"
    );
    assert_eq!(f.addressees[0].lines, [7, 7]);
    let subject = f.subject.as_ref().unwrap();
    assert_eq!(
        subject.value,
        "Advies inzake het Kabinetsstandpunt over de CSAM-Verordening"
    );
    assert_eq!(subject.lines, [16, 18]);
    assert_eq!(f.signatories.len(), 1);
    assert_eq!(f.signatories[0].name, "Robbert Hoving");
    assert_eq!(
        f.signatories[0].title.as_deref(),
        Some("Directeur-bestuurder Offlimits")
    );
    assert_eq!(
        f.salutation.as_ref().unwrap().value,
        "Geachte bewindspersonen"
    );
}

#[test]
fn the_kamerbrief_is_from_the_minister_to_the_house_dated_in_the_hague() {
    let f = facts_of("2023-09-18-minister");
    assert_eq!(f.date.as_ref().unwrap().value, "2023-09-18");
    assert_eq!(f.place.as_ref().unwrap().value, "Den Haag");
    assert_eq!(
        f.sender.as_ref().unwrap().value,
        "Minister van Justitie en Veiligheid"
    );
    assert_eq!(
        values(&f.addressees),
        ["de Voorzitter van de Tweede Kamer der Staten-Generaal"]
    );
    assert!(
        values(&f.references).contains(&"Nr. 1069"),
        "{:?}",
        values(&f.references)
    );
    assert_eq!(f.signatories.len(), 1, "{:?}", f.signatories);
    // As the extraction writes it: `s` and a combining cedilla, kept as written.
    assert_eq!(f.signatories[0].name, "D. Yes\u{327}ilgöz-Zegerius");
}

#[test]
fn the_twelve_organisations_write_to_the_minister_with_the_committee_in_copy() {
    let f = facts_of("2024-09-30-twaalf");
    assert_eq!(f.date.as_ref().unwrap().value, "2024-09-30");
    assert_eq!(f.place.as_ref().unwrap().value, "Leiden");
    assert_eq!(f.sender.as_ref().unwrap().value, "twaalf organisaties");
    assert_eq!(
        values(&f.addressees),
        ["Dhr. D.M. van Weel, minister van Justitie en Veiligheid"]
    );
    assert_eq!(f.cc.len(), 1);
    assert!(
        f.subject
            .as_ref()
            .unwrap()
            .value
            .starts_with("EU Verordening")
    );
    assert_eq!(
        f.salutation.as_ref().unwrap().value,
        "Geachte Minister van Weel"
    );
}

#[test]
fn the_2025_letter_is_from_organisations_to_the_committee_spokespeople() {
    let f = facts_of("2025-09-29");
    assert_eq!(f.date.as_ref().unwrap().value, "2025-09-29");
    assert_eq!(
        values(&f.addressees),
        ["De woordvoerders van de Commissie Justitie en Veiligheid"]
    );
    assert_eq!(f.cc.len(), 2, "{:?}", values(&f.cc));
    assert_eq!(f.sender.as_ref().unwrap().value, "de volgende organisaties");
    let subject = f.subject.as_ref().unwrap();
    assert!(
        subject.value.ends_with("online (CSAM-regulation)"),
        "{}",
        subject.value
    );
    assert_eq!(subject.lines, [12, 14]);
}

#[test]
fn the_commission_letter_is_signed_by_two_commissioners_and_says_no_date() {
    let f = facts_of("undated-europese-commissie");
    assert!(f.date.is_none(), "the letter gives no date: {:?}", f.date);
    assert!(
        f.addressees.is_empty(),
        "no address block: {:?}",
        f.addressees
    );
    let names: Vec<(&str, Option<&str>)> = f
        .signatories
        .iter()
        .map(|s| (s.name.as_str(), s.title.as_deref()))
        .collect();
    assert_eq!(
        names,
        [
            // As the extraction writes it: letters and combining carons, kept as written.
            (
                "Maros\u{30c} S\u{30c}efc\u{30c}ovic\u{30c}",
                Some("Vicevoorzitter")
            ),
            ("Ylva Johansson", Some("Lid van de Commissie"))
        ]
    );
    assert_eq!(f.sender.as_ref().unwrap().value, "de Commissie");
}
