//! An incremental server-sent-events parser: `event:`/`data:` lines ended by LF or CRLF,
//! events split anywhere across pushes; only the current incomplete event is buffered.

use super::{ProviderError, Result};
use std::borrow::Cow;

/// One complete event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event<'a> {
    /// The `event:` field, if any.
    pub event: Option<&'a str>,
    /// The `data:` lines joined with `\n`; `None` when the event had no `data:` line.
    pub data: Option<Cow<'a, str>>,
    /// The event's bytes as received, up to and including the blank line that ended it.
    pub raw: &'a [u8],
}

/// Splits a byte stream into events.
#[derive(Debug, Default)]
pub struct SseParser {
    /// The current incomplete event.
    buf: Vec<u8>,
    /// How much of `buf` is complete lines (already scanned for a blank line).
    scanned: usize,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; calls `on_event` for every event they complete, in order.
    pub fn push(
        &mut self,
        chunk: &[u8],
        mut on_event: impl FnMut(Event<'_>) -> Result<()>,
    ) -> Result<()> {
        self.buf.extend_from_slice(chunk);
        let mut start = 0;
        let mut pos = self.scanned;
        while let Some(nl) = self.buf[pos..].iter().position(|&b| b == b'\n') {
            let line_end = pos + nl;
            let line = &self.buf[pos..line_end];
            let blank = line.is_empty() || line == b"\r";
            if blank {
                // A blank line with nothing before it (e.g. a third newline) is no event.
                if pos > start {
                    on_event(parse_event(&self.buf[start..=line_end])?)?;
                }
                start = line_end + 1;
            }
            pos = line_end + 1;
        }
        self.buf.drain(..start);
        self.scanned = pos - start;
        Ok(())
    }

    /// The stream ended: an event left without its closing blank line is still delivered.
    pub fn finish(&mut self, mut on_event: impl FnMut(Event<'_>) -> Result<()>) -> Result<()> {
        let rest = std::mem::take(&mut self.buf);
        self.scanned = 0;
        if rest.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        on_event(parse_event(&rest)?)
    }
}

fn parse_event(raw: &[u8]) -> Result<Event<'_>> {
    let text = std::str::from_utf8(raw)
        .map_err(|_| ProviderError::BadUpstream("the upstream stream is not UTF-8".into()))?;
    let mut event = None;
    let mut data: Option<Cow<'_, str>> = None;
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() || line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => event = Some(value),
            "data" => {
                data = Some(match data {
                    None => Cow::Borrowed(value),
                    Some(prev) => Cow::Owned(format!("{prev}\n{value}")),
                });
            }
            _ => {}
        }
    }
    Ok(Event { event, data, raw })
}

/// What a stream converter does with each upstream event; [`SseConverter`] does the parsing
/// and the buffering around it, once for every adapter.
pub(crate) trait EventHandler: Send {
    fn on_event(&mut self, ev: &Event<'_>, out: &mut Vec<u8>) -> Result<()>;
    /// After the last event: whatever closes the client's stream (nothing by default).
    fn end(&mut self, _out: &mut Vec<u8>) {}
    fn usage(&self) -> super::Usage;
    fn started(&self) -> bool;
}

/// A [`super::StreamConverter`] from an SSE parser and an [`EventHandler`].
pub(crate) struct SseConverter<H> {
    parser: SseParser,
    handler: H,
    events: u64,
}

impl<H: EventHandler> SseConverter<H> {
    pub(crate) fn new(handler: H) -> Self {
        SseConverter {
            parser: SseParser::new(),
            handler,
            events: 0,
        }
    }
}

impl<H: EventHandler> super::StreamConverter for SseConverter<H> {
    fn push(&mut self, chunk: &[u8]) -> Result<bytes::Bytes> {
        let mut out = Vec::new();
        let (handler, events) = (&mut self.handler, &mut self.events);
        self.parser.push(chunk, |ev| {
            *events += 1;
            handler.on_event(&ev, &mut out)
        })?;
        Ok(out.into())
    }

    fn finish(&mut self) -> bytes::Bytes {
        let mut out = Vec::new();
        let handler = &mut self.handler;
        // Only an unreadable last event can fail here: it is dropped, the stream still ends well-formed.
        let _ = self.parser.finish(|ev| handler.on_event(&ev, &mut out));
        handler.end(&mut out);
        out.into()
    }

    fn usage(&self) -> super::Usage {
        self.handler.usage()
    }

    fn started(&self) -> bool {
        self.handler.started()
    }

    fn events(&self) -> u64 {
        self.events
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Owned copies of what the parser produced: (event, data, raw).
    pub(crate) type Owned = (Option<String>, Option<String>, Vec<u8>);

    fn collect(chunks: &[&[u8]]) -> Vec<Owned> {
        let mut out = Vec::new();
        let mut parser = SseParser::new();
        let mut sink = |e: Event<'_>| {
            out.push((
                e.event.map(str::to_owned),
                e.data.map(|d| d.into_owned()),
                e.raw.to_vec(),
            ));
            Ok(())
        };
        for c in chunks {
            parser.push(c, &mut sink).unwrap();
        }
        parser.finish(&mut sink).unwrap();
        out
    }

    /// Calls `f` with `input` split in two at every byte offset, and in one-byte pieces.
    pub(crate) fn for_every_split(input: &[u8], mut f: impl FnMut(&[&[u8]])) {
        for at in 0..=input.len() {
            f(&[&input[..at], &input[at..]]);
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        f(&bytes);
    }

    const FIXTURE: &str = "event: message_start\r\ndata: {\"type\":\"message_start\"}\r\n\r\n\
        : keep-alive comment\n\n\
        event: ping\ndata: {\"type\": \"ping\"}\n\n\
        data: first line\ndata:second line é\n\n\n\
        data: [DONE]\n\n";

    #[test]
    fn parses_fields_crlf_comments_and_multiline_data() {
        let events = collect(&[FIXTURE.as_bytes()]);
        assert_eq!(events.len(), 5);
        assert_eq!(events[0].0.as_deref(), Some("message_start"));
        assert_eq!(events[0].1.as_deref(), Some("{\"type\":\"message_start\"}"));
        assert_eq!(
            events[0].2,
            b"event: message_start\r\ndata: {\"type\":\"message_start\"}\r\n\r\n"
        );
        assert_eq!(events[1].1, None);
        assert_eq!(events[2].0.as_deref(), Some("ping"));
        assert_eq!(events[3].1.as_deref(), Some("first line\nsecond line é"));
        assert_eq!(events[4].1.as_deref(), Some("[DONE]"));
    }

    #[test]
    fn every_split_gives_the_same_events() {
        let whole = collect(&[FIXTURE.as_bytes()]);
        for_every_split(FIXTURE.as_bytes(), |chunks| {
            assert_eq!(collect(chunks), whole);
        });
    }

    #[test]
    fn buffers_only_the_incomplete_event() {
        let mut parser = SseParser::new();
        let mut n = 0;
        parser
            .push(b"data: a\n\ndata: b", |_| {
                n += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(parser.buf, b"data: b");
    }

    #[test]
    fn an_unterminated_last_event_is_delivered_at_finish() {
        let events = collect(&[b"data: {\"a\":1}\n\ndata: [DONE]"]);
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].1.as_deref(), Some("[DONE]"));
    }

    #[test]
    fn invalid_utf8_is_a_bad_upstream() {
        let mut parser = SseParser::new();
        let err = parser.push(b"data: \xff\n\n", |_| Ok(())).unwrap_err();
        assert!(matches!(err, ProviderError::BadUpstream(_)));
    }
}
