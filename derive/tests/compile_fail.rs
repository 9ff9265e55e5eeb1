//! A field the derive cannot list is a compile error that points at the field and names it.

#[test]
fn unsupported_fields_fail_to_compile_naming_the_field() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
