//! A guard that runs cleanup however a future ends. Pure.

/// Runs its action when dropped unless [`OnDrop::disarm`]ed: cleanup that must happen however a
/// future ends, including being dropped by its runtime.
pub(super) struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> OnDrop<F> {
    pub(super) fn new(action: F) -> Self {
        Self(Some(action))
    }

    pub(super) fn disarm(mut self) {
        self.0 = None;
    }
}

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(action) = self.0.take() {
            action();
        }
    }
}
