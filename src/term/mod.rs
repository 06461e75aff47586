//! Terminal guard: raw mode and the alternate screen, restored on every exit
//! path — normal quit, error (Drop), panic (hook), SIGTERM/SIGHUP (the loop
//! ends, then Drop).

use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::cursor::Show;
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

static ACTIVE: AtomicBool = AtomicBool::new(false);

pub type Tui = Terminal<QuietBackend<CrosstermBackend<Stdout>>>;

/// A backend that writes nothing when nothing changed: ratatui resets styles
/// after an empty diff and hides the cursor on every frame; over SSH at 3 a.m.
/// an idle screen should cost zero bytes.
pub struct QuietBackend<B> {
    inner: B,
    cursor_hidden: bool,
}

impl<B: Backend> QuietBackend<B> {
    pub fn new(inner: B) -> Self {
        QuietBackend {
            inner,
            cursor_hidden: false,
        }
    }
}

impl<B: Backend> Backend for QuietBackend<B> {
    type Error = B::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut content = content.peekable();
        if content.peek().is_none() {
            return Ok(());
        }
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        if !self.cursor_hidden {
            self.inner.hide_cursor()?;
            self.cursor_hidden = true;
        }
        Ok(())
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.cursor_hidden = false;
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type)
    }
    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }
    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()
    }
}

/// Owns the terminal state; dropping it restores the terminal.
pub struct Guard {
    _private: (),
}

impl Guard {
    /// Enters raw mode and the alternate screen, installs the panic hook.
    pub fn enter() -> io::Result<(Guard, Tui)> {
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let guard = Guard { _private: () };
        let mut out = io::stdout();
        execute!(out, EnterAlternateScreen)?;
        let mut terminal = Terminal::new(QuietBackend::new(CrosstermBackend::new(out)))?;
        terminal.hide_cursor()?;
        terminal.clear()?;
        Ok((guard, terminal))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Restores the terminal if spotcheck changed it. Safe to call more than once.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = io::stdout();
        let _ = execute!(out, LeaveAlternateScreen, Show);
        let _ = disable_raw_mode();
        let _ = out.flush();
    }
}

fn install_panic_hook() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // Restore first so the message is readable and the shell usable.
        restore();
        tracing::error!("panic: {info}");
        previous(info);
    }));
}

/// True when colours should be off: `NO_COLOR` set to a non-empty value (no-color.org).
pub fn no_color_requested() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::widgets::Paragraph;

    /// Counts what reaches the inner backend.
    struct Counting {
        inner: TestBackend,
        draws: usize,
        hides: usize,
    }

    impl Backend for Counting {
        type Error = <TestBackend as Backend>::Error;
        fn draw<'a, I: Iterator<Item = (u16, u16, &'a Cell)>>(
            &mut self,
            c: I,
        ) -> Result<(), Self::Error> {
            self.draws += 1;
            self.inner.draw(c)
        }
        fn hide_cursor(&mut self) -> Result<(), Self::Error> {
            self.hides += 1;
            self.inner.hide_cursor()
        }
        fn show_cursor(&mut self) -> Result<(), Self::Error> {
            self.inner.show_cursor()
        }
        fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
            self.inner.get_cursor_position()
        }
        fn set_cursor_position<P: Into<Position>>(&mut self, p: P) -> Result<(), Self::Error> {
            self.inner.set_cursor_position(p)
        }
        fn clear(&mut self) -> Result<(), Self::Error> {
            self.inner.clear()
        }
        fn clear_region(&mut self, t: ClearType) -> Result<(), Self::Error> {
            self.inner.clear_region(t)
        }
        fn size(&self) -> Result<Size, Self::Error> {
            self.inner.size()
        }
        fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
            self.inner.window_size()
        }
        fn flush(&mut self) -> Result<(), Self::Error> {
            self.inner.flush()
        }
    }

    #[test]
    fn an_unchanged_frame_reaches_the_terminal_as_nothing() {
        let inner = Counting {
            inner: TestBackend::new(20, 2),
            draws: 0,
            hides: 0,
        };
        let mut t = Terminal::new(QuietBackend::new(inner)).unwrap();
        let frame = |t: &mut Terminal<QuietBackend<Counting>>, text: &str| {
            t.draw(|f| f.render_widget(Paragraph::new(text.to_string()), f.area()))
                .unwrap();
        };
        frame(&mut t, "hello");
        frame(&mut t, "hello");
        frame(&mut t, "hello");
        frame(&mut t, "hullo");
        let b = &t.backend().inner;
        assert_eq!(b.draws, 2, "only frames with changed cells are written");
        assert_eq!(b.hides, 1, "the cursor is hidden once");
    }
}
