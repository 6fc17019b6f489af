fn main() {
    for a in std::env::args().skip(1) {
        let d = tolk::ingest::read(std::path::Path::new(&a)).unwrap();
        for p in &d.paragraphs {
            println!(
                "{} {:?} {:?} {:?}\n    {}",
                p.id,
                p.kind,
                p.lines,
                p.spans,
                p.text.replace('\n', " / ")
            );
        }
    }
}
