//! A list as a pane holds it: rows in pages, the selection, marks, the filter and the sort.

use super::*;

/// Loading state of something fetched from the backend.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Load {
    #[default]
    Loading,
    Ready,
    Failed(String),
}

/// A filterable, selectable, markable list.
#[derive(Debug, Clone)]
pub struct List<T> {
    pub items: Vec<T>,
    /// Indices of `items` that pass the filter, in display order.
    pub visible: Vec<usize>,
    pub selected: usize,
    pub filter: String,
    pub marked: BTreeSet<String>,
    pub load: Load,
    /// Rows to have loaded (paged lists grow it as the user scrolls to the end).
    pub want: usize,
    /// The server has rows beyond those loaded.
    pub more: bool,
    /// Sorted by this column of [`Row::SORT_COLUMNS`], descending when `true`; `None` keeps
    /// the order the rows came in.
    pub sort: Option<(usize, bool)>,
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List {
            items: vec![],
            visible: vec![],
            selected: 0,
            filter: String::new(),
            marked: BTreeSet::new(),
            load: Load::Loading,
            want: cocpit_api::pages::PAGE,
            more: false,
            sort: None,
        }
    }
}

impl<T: Row> List<T> {
    /// Replaces the items, keeping the selection on the same row when it still exists.
    pub fn set_items(&mut self, items: Vec<T>) {
        self.modify(|v| *v = items);
    }

    /// Changes the items in place (merging updates), keeping the selection on the same row.
    pub fn modify(&mut self, f: impl FnOnce(&mut Vec<T>)) {
        let keep = self.selected_item().map(Row::key);
        f(&mut self.items);
        self.load = Load::Ready;
        let keys: BTreeSet<String> = self.items.iter().map(Row::key).collect();
        self.marked.retain(|k| keys.contains(k));
        self.refilter();
        if let Some(k) = keep
            && let Some(pos) = self.visible.iter().position(|&i| self.items[i].key() == k)
        {
            self.selected = pos;
        }
    }

    /// Puts rows an event carries in place: each replaces the row with its key, or is added
    /// (first when the list is newest first, else last).
    pub fn upsert<'a>(&mut self, rows: impl IntoIterator<Item = &'a T>, newest_first: bool)
    where
        T: Clone + 'a,
    {
        self.modify(|items| {
            for row in rows {
                let key = row.key();
                match items.iter_mut().find(|shown| shown.key() == key) {
                    Some(shown) => *shown = row.clone(),
                    None if newest_first => items.insert(0, row.clone()),
                    None => items.push(row.clone()),
                }
            }
        });
    }

    /// `text` filters by substring (case-insensitive); a leading `!` inverts.
    pub fn set_filter(&mut self, text: &str) {
        self.filter = text.to_string();
        self.refilter();
    }

    fn refilter(&mut self) {
        let (invert, needle) = match self.filter.strip_prefix('!') {
            Some(rest) => (true, rest.to_lowercase()),
            None => (false, self.filter.to_lowercase()),
        };
        self.visible = self
            .items
            .iter()
            .enumerate()
            .filter(|(_, it)| {
                needle.is_empty() || it.haystack().to_lowercase().contains(&needle) != invert
            })
            .map(|(i, _)| i)
            .collect();
        if let Some((c, descending)) = self.sort {
            let items = &self.items;
            self.visible.sort_by_cached_key(|&i| items[i].sort_key(c));
            if descending {
                self.visible.reverse();
            }
        }
        self.selected = self.selected.min(self.visible.len().saturating_sub(1));
    }

    /// Sorts by the next column (after the last one, the order the rows came in), or flips the
    /// direction; keeps the selection on its row. Returns what the list is sorted by now.
    pub fn sort_by(&mut self, flip: bool) -> String {
        let n = T::SORT_COLUMNS.len();
        if n == 0 {
            return "this list has no sortable columns".into();
        }
        self.sort = match (self.sort, flip) {
            (Some((c, d)), true) => Some((c, !d)),
            (None, true) => Some((0, true)),
            (Some((c, _)), false) if c + 1 >= n => None,
            (Some((c, _)), false) => Some((c + 1, false)),
            (None, false) => Some((0, false)),
        };
        self.modify(|_| {});
        match self.sort {
            Some((c, d)) => format!(
                "sorted by {} {}",
                T::SORT_COLUMNS[c],
                if d { "▼" } else { "▲" }
            ),
            None => "in the order they came".into(),
        }
    }

    pub fn selected_item(&self) -> Option<&T> {
        self.visible.get(self.selected).map(|&i| &self.items[i])
    }

    pub fn visible_items(&self) -> impl Iterator<Item = &T> {
        self.visible.iter().map(|&i| &self.items[i])
    }

    pub fn move_by(&mut self, delta: isize) {
        let n = self.visible.len();
        if n == 0 {
            self.selected = 0;
            return;
        }
        self.selected = (self.selected as isize + delta).clamp(0, n as isize - 1) as usize;
    }

    /// Selects the visible row with this key, if there is one.
    pub fn select_key(&mut self, key: &str) {
        if let Some(pos) = self
            .visible
            .iter()
            .position(|&i| self.items[i].key() == key)
        {
            self.selected = pos;
        }
    }

    pub fn toggle_mark(&mut self) {
        if let Some(k) = self.selected_item().map(Row::key)
            && !self.marked.remove(&k)
        {
            self.marked.insert(k);
        }
    }
}

/// What `/`, `esc` and `s` do to a pane's list, whatever its rows (see the pane registry).
pub trait Listing {
    /// What `esc` says it cleared: a list's filter, a log's search.
    fn noun(&self) -> &'static str {
        "filter"
    }
    fn filter_text(&self) -> &str;
    fn apply_filter(&mut self, text: &str);
    /// Sorts by the next column, or flips the direction: what it is sorted by now.
    fn sort(&mut self, flip: bool) -> String;
}

impl<T: Row> Listing for List<T> {
    fn filter_text(&self) -> &str {
        &self.filter
    }

    fn apply_filter(&mut self, text: &str) {
        self.set_filter(text);
    }

    fn sort(&mut self, flip: bool) -> String {
        self.sort_by(flip)
    }
}
