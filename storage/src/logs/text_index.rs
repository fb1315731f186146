//! The per-part full-text index over log lines (DESIGN §2): a Tantivy index
//! over line tokens whose doc ids map to row numbers in `entries.parquet`.
//!
//! A token is a maximal run of ASCII letters, digits and `_`; every other
//! byte separates tokens, so lines that are not UTF-8 tokenise the same as
//! their lossy conversion. Tokens are kept case-sensitive because `|=` is.
//! The index only narrows: a substring needle maps to constraints on whole
//! tokens (see [`NeedleRuns`]) and every candidate row is re-checked.
//!
//! Long numbers and hex ids (timestamps, counters, trace ids, hashes, the
//! fraction of a second in `…:30.109767272Z`) are not indexed: they are most of a log's distinct tokens, so they made the
//! dictionary larger than the compressed lines and every substring lookup
//! slow, while people seldom search for a fragment of one. A needle run
//! that could lie inside such a token constrains nothing (see
//! [`could_be_unindexed`]), so those searches read the rows instead.
//!
//! A document is a block of consecutive rows (see [`ROWS_PER_DOC`]), not a
//! single row, which keeps the postings small; a hit makes the whole block
//! a candidate.
//!
//! Tantivy writes a directory of files; they are packed into one object
//! (`index.tantivy`) so a part stays a handful of objects in any store.

use std::io;
use std::path::{Path, PathBuf};

use roaring::RoaringBitmap;
use tantivy::directory::RamDirectory;
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer, TokenizerManager};
use tantivy::{
    Directory, DocSet, Index, IndexBuilder, SingleSegmentIndexWriter, TERMINATED, TantivyDocument,
};

use crate::error::{Error, Result};

const TOKENIZER: &str = "hearth_log";
const LINE_FIELD: &str = "line";
/// Holds the single token [`LONG_FLAG`] for rows with a token longer than
/// [`MAX_TOKEN`]: such tokens are not indexed, so those rows stay candidates
/// for every needle.
const FLAG_FIELD: &str = "flag";
const LONG_FLAG: &str = "long";
/// Longest token indexed, in bytes.
pub const MAX_TOKEN: usize = 256;
/// The first format: one document per row.
const MAGIC_ROWS: &[u8; 4] = b"HTX1";
/// One document per block of [`ROWS_PER_DOC`] consecutive rows; the header
/// then holds the block size and the row count.
const MAGIC_BLOCKS: &[u8; 4] = b"HTX2";
/// Rows per indexed document. Consecutive rows are mostly one stream's
/// neighbouring lines and share most tokens, so a block lists each token
/// once where rows would list it many times: postings shrink several-fold,
/// and a hit costs re-checking a block's rows, which a rare needle can
/// afford and a common one skips through the "most rows" rule anyway.
/// A block stays well under one line page (about a thousand typical
/// lines), so a hit decompresses the same pages it would with single rows.
/// Going from 32 to 128 rows halved the index of the benchmark's logs.
const ROWS_PER_DOC: u32 = 128;
/// Memory the index writer's arena may use; it grows past this if a part
/// needs more, since a part's index is always one segment.
const WRITER_ARENA: usize = 32 << 20;

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Shortest run of digits left out of the index: shorter numbers are few
/// distinct values (status codes, ports, years, small counts) and cheap to
/// keep; longer ones (ids, counters, sub-second fractions) are mostly
/// distinct and would fill the dictionary.
const MIN_UNINDEXED_NUMBER: usize = 5;
/// Shortest hex id left out of the index; shorter all-hex tokens are as
/// often words (`added`, `decade`) as ids.
const MIN_UNINDEXED_HEX: usize = 8;

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

fn is_upper_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'A'..=b'F').contains(&b)
}

fn is_one_case_hex(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| is_lower_hex(*b)) || bytes.iter().all(|b| is_upper_hex(*b))
}

/// `token` without one trailing letter, if it has one: a unit or zone
/// letter glued to a number (`109767272Z`, `12345s`) leaves it as unique
/// as the number.
fn without_unit_letter(token: &[u8]) -> &[u8] {
    match token.split_last() {
        Some((last, rest)) if !rest.is_empty() && last.is_ascii_alphabetic() => rest,
        _ => token,
    }
}

/// True for the tokens the index leaves out: long numbers and hex ids of
/// one case, each optionally followed by one letter.
fn is_unindexed(token: &[u8]) -> bool {
    [token, without_unit_letter(token)].into_iter().any(|core| {
        (core.len() >= MIN_UNINDEXED_NUMBER && core.iter().all(u8::is_ascii_digit))
            || (core.len() >= MIN_UNINDEXED_HEX && is_one_case_hex(core))
    })
}

/// True when `run` could be part of a token the index leaves out, so no
/// prefix, suffix or infix constraint on it is safe. Every substring of
/// such a token is one-case hex, possibly followed by one letter.
fn could_be_unindexed(run: &[u8]) -> bool {
    match run.split_last() {
        Some((last, rest)) if last.is_ascii_alphabetic() => is_one_case_hex(rest),
        _ => is_one_case_hex(run),
    }
}

/// Token runs of `bytes`: (start, end) of each maximal run of token bytes.
fn token_runs(bytes: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || {
        while pos < bytes.len() && !is_token_byte(bytes[pos]) {
            pos += 1;
        }
        if pos >= bytes.len() {
            return None;
        }
        let start = pos;
        while pos < bytes.len() && is_token_byte(bytes[pos]) {
            pos += 1;
        }
        Some((start, pos))
    })
}

#[derive(Clone, Default)]
struct LogTokenizer {
    token: Token,
}

struct LogTokenStream<'a> {
    text: &'a str,
    pos: usize,
    index: usize,
    token: &'a mut Token,
}

impl Tokenizer for LogTokenizer {
    type TokenStream<'a> = LogTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> LogTokenStream<'a> {
        self.token.reset();
        LogTokenStream {
            text,
            pos: 0,
            index: 0,
            token: &mut self.token,
        }
    }
}

impl TokenStream for LogTokenStream<'_> {
    fn advance(&mut self) -> bool {
        let bytes = self.text.as_bytes();
        loop {
            while self.pos < bytes.len() && !is_token_byte(bytes[self.pos]) {
                self.pos += 1;
            }
            if self.pos >= bytes.len() {
                return false;
            }
            let start = self.pos;
            while self.pos < bytes.len() && is_token_byte(bytes[self.pos]) {
                self.pos += 1;
            }
            if self.pos - start > MAX_TOKEN || is_unindexed(&bytes[start..self.pos]) {
                continue;
            }
            self.token.text.clear();
            // Token bytes are ASCII, so the slice is on char boundaries.
            self.token.text.push_str(&self.text[start..self.pos]);
            self.token.offset_from = start;
            self.token.offset_to = self.pos;
            self.token.position = self.index;
            self.index += 1;
            return true;
        }
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

fn schema() -> (Schema, Field, Field) {
    let mut builder = Schema::builder();
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(TOKENIZER)
        .set_index_option(IndexRecordOption::Basic)
        .set_fieldnorms(false);
    let opts = TextOptions::default().set_indexing_options(indexing);
    let line = builder.add_text_field(LINE_FIELD, opts.clone());
    let flag = builder.add_text_field(FLAG_FIELD, opts);
    (builder.build(), line, flag)
}

fn index_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Index(format!("{what}: {e}"))
}

/// Builds a part's index; rows must be added in row order.
pub struct TextIndexBuilder {
    writer: SingleSegmentIndexWriter,
    line: Field,
    flag: Field,
    rows: u64,
    /// Text of the block being gathered, lines separated by `\n`.
    block: String,
    block_rows: u32,
    block_has_long_token: bool,
    rows_per_doc: u32,
}

impl TextIndexBuilder {
    /// An empty index.
    pub fn new() -> Result<Self> {
        let (schema, line, flag) = schema();
        let tokenizers = TokenizerManager::default();
        tokenizers.register(TOKENIZER, LogTokenizer::default());
        let builder = IndexBuilder::new().schema(schema).tokenizers(tokenizers);
        let writer = builder
            .single_segment_index_writer(RamDirectory::create(), WRITER_ARENA)
            .map_err(|e| index_err("create", e))?;
        Ok(Self {
            writer,
            line,
            flag,
            rows: 0,
            block: String::new(),
            block_rows: 0,
            block_has_long_token: false,
            rows_per_doc: ROWS_PER_DOC,
        })
    }

    /// An empty index with `n` rows per document (tests use 1 to see
    /// exactly which rows a needle selects).
    #[cfg(test)]
    fn with_rows_per_doc(n: u32) -> Result<Self> {
        Ok(Self {
            rows_per_doc: n.max(1),
            ..Self::new()?
        })
    }

    /// Adds the next row's line.
    pub fn add(&mut self, line: &[u8]) -> Result<()> {
        // A newline separates tokens, so none spans two lines.
        self.block.push_str(&String::from_utf8_lossy(line));
        self.block.push('\n');
        if token_runs(line).any(|(s, e)| e - s > MAX_TOKEN) {
            self.block_has_long_token = true;
        }
        self.block_rows += 1;
        self.rows += 1;
        if self.block_rows == self.rows_per_doc {
            self.end_block()?;
        }
        Ok(())
    }

    fn end_block(&mut self) -> Result<()> {
        let mut doc = TantivyDocument::new();
        doc.add_text(self.line, std::mem::take(&mut self.block));
        if self.block_has_long_token {
            doc.add_text(self.flag, LONG_FLAG);
        }
        self.writer
            .add_document(doc)
            .map_err(|e| index_err("add", e))?;
        self.block_rows = 0;
        self.block_has_long_token = false;
        Ok(())
    }

    /// Finishes the index and packs its files into one blob.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        if self.block_rows > 0 {
            self.end_block()?;
        }
        let rows = u32::try_from(self.rows).map_err(|_| index_err("finish", "too many rows"))?;
        let index = self
            .writer
            .finalize()
            .map_err(|e| index_err("finalize", e))?;
        let dir = index.directory();
        let mut files: Vec<PathBuf> = dir.list_managed_files().into_iter().collect();
        files.push(PathBuf::from("meta.json"));
        files.sort();
        files.dedup();
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC_BLOCKS);
        out.extend_from_slice(&self.rows_per_doc.to_le_bytes());
        out.extend_from_slice(&rows.to_le_bytes());
        let mut packed = Vec::new();
        for path in &files {
            if !dir.exists(path).map_err(|e| index_err("list", e))? {
                continue;
            }
            let data = dir.atomic_read(path).map_err(|e| index_err("read", e))?;
            packed.push((path.to_string_lossy().into_owned(), data));
        }
        out.extend_from_slice(&(packed.len() as u32).to_le_bytes());
        for (name, data) in packed {
            out.extend_from_slice(&(name.len() as u32).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&(data.len() as u64).to_le_bytes());
            out.extend_from_slice(&data);
        }
        Ok(out)
    }
}

/// How a needle constrains tokens. A token run of the needle that has a
/// separator on both sides (inside the needle) must be a whole line token;
/// one touching only the needle's end must start a token; one touching only
/// its start must end a token; one spanning the whole needle may sit
/// anywhere inside a token.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct NeedleRuns {
    /// Tokens that must appear whole.
    pub exact: Vec<String>,
    /// Prefixes of some token.
    pub prefix: Vec<String>,
    /// Suffixes of some token.
    pub suffix: Vec<String>,
    /// Infixes of some token.
    pub infix: Vec<String>,
}

impl NeedleRuns {
    /// Splits `needle` into token constraints. Runs longer than
    /// [`MAX_TOKEN`], and runs that could be (part of) a number or hex id,
    /// constrain nothing: such tokens are not indexed.
    pub fn of(needle: &[u8]) -> Self {
        let mut runs = Self::default();
        for (start, end) in token_runs(needle) {
            if end - start > MAX_TOKEN {
                continue;
            }
            let Ok(text) = std::str::from_utf8(&needle[start..end]) else {
                continue;
            };
            let whole = start > 0 && end < needle.len();
            let unusable = if whole {
                is_unindexed(text.as_bytes())
            } else {
                could_be_unindexed(text.as_bytes())
            };
            if unusable {
                continue;
            }
            let text = text.to_owned();
            match (start == 0, end == needle.len()) {
                (false, false) => runs.exact.push(text),
                (false, true) => runs.prefix.push(text),
                (true, false) => runs.suffix.push(text),
                (true, true) => runs.infix.push(text),
            }
        }
        runs
    }

    /// True when the needle constrains nothing the index can check.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty()
            && self.prefix.is_empty()
            && self.suffix.is_empty()
            && self.infix.is_empty()
    }
}

/// An opened part index.
pub struct TextIndex {
    index: Index,
    rows: u32,
    rows_per_doc: u32,
    bytes: usize,
}

impl std::fmt::Debug for TextIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextIndex")
            .field("rows", &self.rows)
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl crate::part_cache::Weighed for TextIndex {
    fn weight(&self) -> usize {
        self.bytes()
    }
}

impl TextIndex {
    /// Opens a packed index.
    pub fn open(blob: &[u8]) -> Result<Self> {
        let corrupt = |what: &str| index_err("open", what);
        let mut pos = 0usize;
        let mut take = |n: usize| -> Result<&[u8]> {
            let end = pos
                .checked_add(n)
                .ok_or_else(|| corrupt("truncated index blob"))?;
            let slice = blob
                .get(pos..end)
                .ok_or_else(|| corrupt("truncated index blob"))?;
            pos = end;
            Ok(slice)
        };
        let read_u32 = |bytes: &[u8]| -> Result<u32> {
            Ok(u32::from_le_bytes(
                bytes.try_into().map_err(|_| corrupt("header"))?,
            ))
        };
        let layout = match take(4)? {
            m if m == MAGIC_ROWS => None,
            m if m == MAGIC_BLOCKS => {
                let per_doc = read_u32(take(4)?)?;
                let rows = read_u32(take(4)?)?;
                if per_doc == 0 {
                    return Err(corrupt("zero rows per document"));
                }
                Some((per_doc, rows))
            }
            _ => return Err(corrupt("not a Hearth text index")),
        };
        let count = u32::from_le_bytes(take(4)?.try_into().map_err(|_| corrupt("count"))?);
        let dir = RamDirectory::create();
        for _ in 0..count {
            let n = u32::from_le_bytes(take(4)?.try_into().map_err(|_| corrupt("name"))?);
            let name = std::str::from_utf8(take(n as usize)?)
                .map_err(|_| corrupt("file name"))?
                .to_owned();
            let len = u64::from_le_bytes(take(8)?.try_into().map_err(|_| corrupt("length"))?);
            let len = usize::try_from(len).map_err(|_| corrupt("length"))?;
            let data = take(len)?;
            tantivy::Directory::atomic_write(&dir, Path::new(&name), data)
                .map_err(|e: io::Error| index_err("load", e))?;
        }
        let index = Index::open(dir).map_err(|e| index_err("open", e))?;
        index
            .tokenizers()
            .register(TOKENIZER, LogTokenizer::default());
        let (rows_per_doc, rows) = match layout {
            Some(layout) => layout,
            None => {
                let docs = index
                    .searchable_segment_metas()
                    .map_err(|e| index_err("open", e))?
                    .iter()
                    .map(|m| m.max_doc())
                    .sum();
                (1, docs)
            }
        };
        Ok(Self {
            index,
            rows,
            rows_per_doc,
            bytes: blob.len(),
        })
    }

    /// Rows indexed.
    pub fn rows(&self) -> u32 {
        self.rows
    }

    /// Size of the packed index, for cache accounting.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Rows that may contain `needle`, or `None` when the index cannot
    /// narrow the search (no usable token in the needle).
    pub fn candidates(&self, needle: &[u8]) -> Result<Option<RoaringBitmap>> {
        let runs = NeedleRuns::of(needle);
        if runs.is_empty() {
            return Ok(None);
        }
        let reader = self
            .index
            .reader_builder()
            .reload_policy(tantivy::ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| index_err("reader", e))?;
        let searcher = reader.searcher();
        let schema = self.index.schema();
        let line = schema
            .get_field(LINE_FIELD)
            .map_err(|e| index_err("schema", e))?;
        let flag = schema
            .get_field(FLAG_FIELD)
            .map_err(|e| index_err("schema", e))?;
        let mut result = RoaringBitmap::new();
        let mut base: u32 = 0;
        for segment in searcher.segment_readers() {
            let lines = segment
                .inverted_index(line)
                .map_err(|e| index_err("postings", e))?;
            let flags = segment
                .inverted_index(flag)
                .map_err(|e| index_err("postings", e))?;
            let mut rows: Option<RoaringBitmap> = None;
            let narrow = |rows: &mut Option<RoaringBitmap>, hits: RoaringBitmap| {
                *rows = Some(match rows.take() {
                    Some(r) => r & hits,
                    None => hits,
                });
            };
            // Exact tokens and prefixes are cheap dictionary lookups; when
            // they exist, suffix and infix runs (which scan the dictionary)
            // add little and are skipped.
            for token in &runs.exact {
                narrow(&mut rows, postings_of_terms(&lines, TermSet::Exact(token))?);
            }
            for token in &runs.prefix {
                narrow(
                    &mut rows,
                    postings_of_terms(&lines, TermSet::Prefix(token))?,
                );
            }
            if rows.is_none() {
                for token in &runs.suffix {
                    narrow(
                        &mut rows,
                        postings_of_terms(&lines, TermSet::Suffix(token))?,
                    );
                }
                for token in &runs.infix {
                    narrow(&mut rows, postings_of_terms(&lines, TermSet::Infix(token))?);
                }
            }
            let mut docs = rows.unwrap_or_default();
            docs |= postings_of_terms(&flags, TermSet::Exact(LONG_FLAG))?;
            for d in docs {
                let first = u64::from(base + d) * u64::from(self.rows_per_doc);
                let end = (first + u64::from(self.rows_per_doc)).min(u64::from(self.rows));
                if let (Ok(first), Ok(end)) = (u32::try_from(first), u32::try_from(end)) {
                    result.insert_range(first..end);
                }
            }
            base += segment.max_doc();
        }
        Ok(Some(result))
    }
}

enum TermSet<'a> {
    Exact(&'a str),
    Prefix(&'a str),
    Suffix(&'a str),
    Infix(&'a str),
}

fn postings_of_terms(
    inverted: &tantivy::InvertedIndexReader,
    set: TermSet<'_>,
) -> Result<RoaringBitmap> {
    let dict = inverted.terms();
    let mut infos = Vec::new();
    match set {
        TermSet::Exact(token) => {
            if let Some(info) = dict
                .get(token.as_bytes())
                .map_err(|e| index_err("term", e))?
            {
                infos.push(info);
            }
        }
        TermSet::Prefix(token) => {
            let mut stream = dict
                .range()
                .ge(token.as_bytes())
                .into_stream()
                .map_err(|e| index_err("terms", e))?;
            while stream.advance() {
                if !stream.key().starts_with(token.as_bytes()) {
                    break;
                }
                infos.push(stream.value().clone());
            }
        }
        TermSet::Suffix(token) | TermSet::Infix(token) => {
            let suffix_only = matches!(set, TermSet::Suffix(_));
            let mut stream = dict.stream().map_err(|e| index_err("terms", e))?;
            let finder = memchr::memmem::Finder::new(token.as_bytes());
            while stream.advance() {
                let key = stream.key();
                let hit = if suffix_only {
                    key.ends_with(token.as_bytes())
                } else {
                    finder.find(key).is_some()
                };
                if hit {
                    infos.push(stream.value().clone());
                }
            }
        }
    }
    let mut rows = RoaringBitmap::new();
    for info in infos {
        let mut postings = inverted
            .read_postings_from_terminfo(&info, IndexRecordOption::Basic)
            .map_err(|e| index_err("postings", e))?;
        let mut doc = postings.doc();
        while doc != TERMINATED {
            rows.insert(doc);
            doc = postings.advance();
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(lines: &[&[u8]]) -> TextIndex {
        let mut b = TextIndexBuilder::with_rows_per_doc(1).unwrap();
        for l in lines {
            b.add(l).unwrap();
        }
        TextIndex::open(&b.finish().unwrap()).unwrap()
    }

    fn rows(index: &TextIndex, needle: &str) -> Option<Vec<u32>> {
        index
            .candidates(needle.as_bytes())
            .unwrap()
            .map(|b| b.iter().collect())
    }

    #[test]
    fn needle_runs_classify_by_position() {
        let runs = NeedleRuns::of(b"xy cd-ef gh");
        assert_eq!(runs.suffix, vec!["xy"]);
        assert_eq!(runs.exact, vec!["cd", "ef"]);
        assert_eq!(runs.prefix, vec!["gh"]);
        assert_eq!(NeedleRuns::of(b"whole").infix, vec!["whole"]);
        assert!(NeedleRuns::of(b" = ").is_empty());
    }

    #[test]
    fn candidates_cover_every_substring_match() {
        let lines: Vec<&[u8]> = vec![
            b"GET /api/users 200 took=12ms",
            b"POST /api/orders 500 error=db_timeout",
            b"\x1b[31mERROR\x1b[0m disk full on /dev/sda1",
            b"caf\xc3\xa9 ol\xff\xfe invalid utf8 token123",
            b"trace_id=4bf92f3577b34da6a3ce929d0e0e4736 done",
        ];
        let index = build(&lines);
        assert_eq!(index.rows(), 5);
        for needle in [
            "api",
            "/api/",
            "users 2",
            "rror",
            "ERROR",
            "error=db",
            "db_time",
            "sda",
            "ol",
            "token12",
            "oken123",
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "92f35",
            "took=1",
            "=",
        ] {
            let expected: Vec<u32> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| l.windows(needle.len()).any(|w| w == needle.as_bytes()))
                .map(|(i, _)| i as u32)
                .collect();
            match rows(&index, needle) {
                None => assert!(NeedleRuns::of(needle.as_bytes()).is_empty(), "{needle}"),
                Some(cands) => {
                    for e in &expected {
                        assert!(
                            cands.contains(e),
                            "{needle}: row {e} missing from {cands:?}"
                        );
                    }
                }
            }
        }
        // Ids and long numbers are not indexed: their fragments scan.
        assert_eq!(rows(&index, "92f35"), None);
        assert_eq!(rows(&index, "4bf92f3577b34da6a3ce929d0e0e4736"), None);
        assert_eq!(rows(&index, "trace_id=4bf92f35"), Some(vec![4]));
        assert_eq!(rows(&index, "ERROR"), Some(vec![2]));
        assert_eq!(rows(&index, "nothing-here"), Some(vec![]));
        assert_eq!(rows(&index, "error"), Some(vec![1]));
    }

    #[test]
    fn numbers_and_hex_ids_are_left_out_but_short_ones_and_words_are_kept() {
        assert!(is_unindexed(b"1700000000123"));
        assert!(is_unindexed(b"4bf92f3577b34da6"));
        assert!(is_unindexed(b"DEADBEEF00"));
        assert!(!is_unindexed(b"deadbeef_"));
        assert!(!is_unindexed(b"4Bf92f3577b34da6"));
        assert!(!is_unindexed(b"404"));
        assert!(!is_unindexed(b"hearthneedle7f3a9c"));
        let index = build(&[
            b"GET /x 404 id=1700000000123",
            b"span=4bf92f3577b34da6 user=cafe",
        ]);
        assert_eq!(rows(&index, " 404 "), Some(vec![0]));
        assert_eq!(rows(&index, "user=cafe"), Some(vec![1]));
        // "cafe" alone could be inside a hex id, so it cannot narrow.
        assert_eq!(rows(&index, "cafe"), None);
        assert_eq!(rows(&index, "170000"), None);
        assert_eq!(rows(&index, " id=17"), Some(vec![0]));
        assert_eq!(
            NeedleRuns::of(b"x 1700000000123 y").exact,
            vec![] as Vec<String>
        );
    }

    #[test]
    fn numbers_with_a_unit_or_zone_letter_are_left_out_too() {
        assert!(is_unindexed(b"109767272Z"));
        assert!(is_unindexed(b"12345"));
        assert!(is_unindexed(b"12345s"));
        assert!(is_unindexed(b"4bf92f3577b34da6Z"));
        assert!(!is_unindexed(b"1234"));
        assert!(!is_unindexed(b"2026"));
        assert!(!is_unindexed(b"12ms"));
        assert!(!is_unindexed(b"26T13"));
        assert!(!is_unindexed(b"Z"));
        // Every piece of a left-out token is recognised as possibly one.
        for piece in ["Z", "9Z", "109767272", "767272Z", "b34da6Z", "F"] {
            assert!(could_be_unindexed(piece.as_bytes()), "{piece}");
        }
        for piece in ["ms", "T13", "needle", "12ms"] {
            assert!(!could_be_unindexed(piece.as_bytes()), "{piece}");
        }
        let index = build(&[
            b"ts=2026-11-26T13:59:30.109767272Z level=info user=31266",
            b"ts=2026-11-26T13:59:31.000000001Z level=warn took=12ms",
        ]);
        // The fraction and the id are not in the dictionary: no row may be
        // ruled out on them.
        assert_eq!(rows(&index, "109767272Z"), None);
        assert_eq!(rows(&index, ".109767272Z lev"), Some(vec![0, 1]));
        assert_eq!(rows(&index, "user=31266"), Some(vec![0]));
        assert_eq!(rows(&index, " took=12ms"), Some(vec![1]));
        assert_eq!(rows(&index, "T13:59"), Some(vec![0, 1]));
    }

    #[test]
    fn long_tokens_keep_their_rows_candidates() {
        let long = "x".repeat(MAX_TOKEN + 10);
        let line = format!("head {long}abc tail");
        let index = build(&[line.as_bytes(), b"other"]);
        assert_eq!(rows(&index, "xabc"), Some(vec![0]));
        assert_eq!(rows(&index, "head"), Some(vec![0]));
    }

    #[test]
    fn a_hit_selects_its_whole_block() {
        let mut b = TextIndexBuilder::with_rows_per_doc(2).unwrap();
        for line in ["x", "y", "z needle", "w", "qq"] {
            b.add(line.as_bytes()).unwrap();
        }
        let index = TextIndex::open(&b.finish().unwrap()).unwrap();
        assert_eq!(index.rows(), 5);
        assert_eq!(rows(&index, "needle"), Some(vec![2, 3]));
        assert_eq!(rows(&index, "qq"), Some(vec![4]));
        // No token spans two lines of a block.
        assert_eq!(rows(&index, "xy"), Some(vec![]));
        let default = {
            let mut b = TextIndexBuilder::new().unwrap();
            for i in 0..ROWS_PER_DOC + 8 {
                b.add(format!("line {i} word{i}").as_bytes()).unwrap();
            }
            TextIndex::open(&b.finish().unwrap()).unwrap()
        };
        let last = format!("word{}", ROWS_PER_DOC + 3);
        assert_eq!(
            rows(&default, &last),
            Some((ROWS_PER_DOC..ROWS_PER_DOC + 8).collect())
        );
    }

    #[test]
    fn garbage_blob_is_an_error() {
        assert!(TextIndex::open(b"nope").is_err());
        assert!(TextIndex::open(b"HTX1\x05\0\0\0").is_err());
    }

    /// Index size for a sample file of lines (one per line), to compare
    /// tokenisation rules, e.g. on `hearth-loggen --write-raw` output:
    /// `HEARTH_INDEX_SAMPLE=/path cargo test -- --ignored index_size`.
    #[test]
    #[ignore = "reads a sample file named by HEARTH_INDEX_SAMPLE"]
    fn index_size_of_sample() {
        let Ok(path) = std::env::var("HEARTH_INDEX_SAMPLE") else {
            return;
        };
        let data = std::fs::read(path).unwrap();
        let mut b = TextIndexBuilder::new().unwrap();
        let mut lines = 0;
        for line in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            b.add(line).unwrap();
            lines += 1;
        }
        let blob = b.finish().unwrap();
        eprintln!("{lines} lines, index {} bytes", blob.len());
        // On the benchmark's logs the index is 1.3-1.6% of the raw
        // lines; twice that means a tokenisation rule stopped working.
        assert!(
            blob.len() * 40 < data.len(),
            "index {} bytes for {} bytes of lines",
            blob.len(),
            data.len()
        );
    }
}
