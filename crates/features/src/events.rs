//! Streaming aggregation of events (site, app, email) into per-customer counters.
//!
//! Events are read after transactions, so the as-of date is known and every event feature is a
//! bounded counter; abandoned carts are judged against the customer's purchase days, already
//! known from the transactions.

use lookalike_core::IdPartition;

use crate::cell::{self, Cell, DayCache};
use crate::customer_slots::{CustomerSlots, CustomerState, customer_id};
use crate::scan::{RowHandler, RowProblem};

/// Field slots of an events row, in `InputKind::Events.fields()` order.
pub(crate) mod slot {
    pub const CUSTOMER: usize = 0;
    pub const TIMESTAMP: usize = 1;
    pub const EVENT_TYPE: usize = 2;
}

/// The event types the features understand. Other types are counted but feed no feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    View,
    AddToCart,
    Checkout,
    Purchase,
    EmailSent,
    EmailOpen,
    EmailClick,
    Other,
}

impl EventType {
    /// Accepts the common spellings (`page_view`, `add-to-cart`, `email_delivered` …).
    pub fn parse(text: &str) -> EventType {
        let normal: String = text
            .trim()
            .chars()
            .map(|c| match c {
                '-' | ' ' | '.' => '_',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        match normal.as_str() {
            "view" | "page_view" | "product_view" | "pageview" | "view_item" => EventType::View,
            "add_to_cart" | "addtocart" | "cart" | "cart_add" => EventType::AddToCart,
            "checkout" | "begin_checkout" | "checkout_start" => EventType::Checkout,
            "purchase" | "order" | "transaction" => EventType::Purchase,
            "email_sent" | "email_send" | "email_delivered" => EventType::EmailSent,
            "email_open" | "email_opened" => EventType::EmailOpen,
            "email_click" | "email_clicked" => EventType::EmailClick,
            _ => EventType::Other,
        }
    }
}

/// Counters of one customer's events before as-of.
#[derive(Debug, Clone, Default)]
pub(crate) struct CustomerEvents {
    pub first_seen: u64,
    pub views_30d: u32,
    pub carts_30d: u32,
    pub checkouts_30d: u32,
    pub abandoned_carts: u32,
    pub abandoned_carts_30d: u32,
    pub last_event_day: Option<i32>,
    pub emails_sent: u32,
    pub email_opens: u32,
    pub email_clicks: u32,
}

impl CustomerState for CustomerEvents {
    fn first_seen_at(first_seen: u64) -> Self {
        CustomerEvents {
            first_seen,
            ..Default::default()
        }
    }

    fn seen_at(&mut self, order_key: u64) {
        self.first_seen = self.first_seen.min(order_key);
    }

    fn touch(&self) -> u64 {
        self.first_seen
    }

    fn merge(&mut self, o: CustomerEvents) {
        self.first_seen = self.first_seen.min(o.first_seen);
        self.views_30d += o.views_30d;
        self.carts_30d += o.carts_30d;
        self.checkouts_30d += o.checkouts_30d;
        self.abandoned_carts += o.abandoned_carts;
        self.abandoned_carts_30d += o.abandoned_carts_30d;
        self.last_event_day = self.last_event_day.max(o.last_event_day);
        self.emails_sent += o.emails_sent;
        self.email_opens += o.email_opens;
        self.email_clicks += o.email_clicks;
    }
}

/// Looks up a customer's sorted purchase days (from the transactions).
pub(crate) trait PurchaseDays: Sync {
    fn purchase_days(&self, customer: &str) -> &[i32];
}

/// Per-thread aggregation of events.
pub(crate) struct EventHandler<'a, P: PurchaseDays> {
    as_of: i32,
    purchases: &'a P,
    pub slots: CustomerSlots<CustomerEvents>,
    scratch: String,
    days: DayCache,
    pub after_as_of: u64,
    pub other_types: u64,
}

impl<'a, P: PurchaseDays> EventHandler<'a, P> {
    pub fn new(
        as_of: i32,
        purchases: &'a P,
        keep: &[IdPartition],
        date_format: Option<&str>,
    ) -> Self {
        EventHandler {
            as_of,
            purchases,
            slots: CustomerSlots::keeping(keep),
            scratch: String::new(),
            days: DayCache::with_format(date_format),
            after_as_of: 0,
            other_types: 0,
        }
    }

    /// Folds another thread's counters into this one (order is restored later from the
    /// first-seen keys).
    pub fn absorb(&mut self, other: EventHandler<'_, P>) {
        self.slots.absorb(other.slots);
        self.after_as_of += other.after_as_of;
        self.other_types += other.other_types;
    }
}

impl<P: PurchaseDays> RowHandler for EventHandler<'_, P> {
    fn route(&mut self, owner: usize, owners: usize) {
        self.slots.route(owner, owners);
    }

    fn warm(&self, ids: &[Cell<'_>], found: &mut [Option<u32>]) {
        self.slots.warm(ids, found);
    }

    fn row(
        &mut self,
        order_key: u64,
        cells: &[Cell<'_>],
        found: Option<u32>,
    ) -> Result<(), RowProblem> {
        use slot::*;
        let day = self
            .days
            .day(cells[TIMESTAMP])
            .map_err(|r| RowProblem::field(TIMESTAMP, cells[TIMESTAMP], r))?;
        let kind_text = cell::text(cells[EVENT_TYPE], &mut self.scratch)
            .map_err(|r| RowProblem::field(EVENT_TYPE, cells[EVENT_TYPE], r))?;
        if kind_text.is_empty() {
            return Err(RowProblem::field(
                EVENT_TYPE,
                cells[EVENT_TYPE],
                "is empty; an event type is required".into(),
            ));
        }
        let kind = EventType::parse(kind_text);
        if day >= self.as_of {
            customer_id(cells[CUSTOMER], &mut self.scratch)?;
            self.after_as_of += 1;
            return Ok(());
        }
        let Some(index) =
            self.slots
                .slot_of(cells[CUSTOMER], order_key, &mut self.scratch, found)?
        else {
            return Ok(());
        };
        let index = index as usize;
        let recent = day >= self.as_of - 30;
        let abandoned = kind == EventType::AddToCart && {
            // A cart is abandoned when no purchase follows on the same or the next day, as far
            // as the calibration period shows (no look-ahead past as-of).
            let id = customer_id(cells[CUSTOMER], &mut self.scratch)?;
            let days = self.purchases.purchase_days(id);
            let start = days.partition_point(|d| *d < day);
            days.get(start).is_none_or(|d| *d > day + 1)
        };
        let state = &mut self.slots.customers[index];
        state.last_event_day = state.last_event_day.max(Some(day));
        match kind {
            EventType::View if recent => state.views_30d += 1,
            EventType::AddToCart if recent => state.carts_30d += 1,
            EventType::Checkout if recent => state.checkouts_30d += 1,
            EventType::EmailSent => state.emails_sent += 1,
            EventType::EmailOpen => state.email_opens += 1,
            EventType::EmailClick => state.email_clicks += 1,
            EventType::Other => self.other_types += 1,
            _ => {}
        }
        if abandoned {
            state.abandoned_carts += 1;
            if recent {
                state.abandoned_carts_30d += 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_spellings() {
        assert_eq!(EventType::parse("Page-View"), EventType::View);
        assert_eq!(EventType::parse("add_to_cart"), EventType::AddToCart);
        assert_eq!(EventType::parse("email_delivered"), EventType::EmailSent);
        assert_eq!(EventType::parse("wishlist"), EventType::Other);
    }
}
