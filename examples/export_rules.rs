//! Prints the classifier's rules and verdict texts as JSON (src/export.rs);
//! `./build.sh rules` writes them to wp-plugin/data/classifier.json.

fn main() {
    print!("{}", rust_mail::export::classifier_text());
}
