//! The web app in a real headless Chromium (Debian's `chromium` and `chromedriver`, driven
//! over WebDriver with fantoccini) against the compiled `crm`. Skipped loudly when Chromium
//! is missing; a failure under `CI=true`.
//!
//! One scenario at a time (they count the server's refreshes and wait for token expiries).
//! Screenshots of every page go to `target/browser-screenshots/`.

#[path = "../support/mod.rs"]
mod support;

mod harness;

use std::time::{Duration, Instant};

use harness::{Crm, Driver, Hostile, Page, one_at_a_time};

/// Every scenario: one chromedriver, one crm with these flags.
async fn setup(args: &[&str]) -> Option<(Driver, Crm)> {
    let driver = Driver::start()?;
    let crm = Crm::start(args);
    Some((driver, crm))
}

/// Sign up through the register form, see the empty customer list, add a customer; the page
/// holds no readable token; a reload keeps the session (same browser); a fresh browser
/// (another profile) is not signed in; remember-me gives a persistent cookie and a plain login
/// a session cookie; phone width; keyboard-only login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_customers_reload_and_remember_me() {
    let _one = one_at_a_time().await;
    let Some((driver, crm)) = setup(&[]).await else {
        return;
    };
    let page = Page::open(&driver, &crm).await;
    page.goto("/").await;
    page.wait("#login-form").await;
    page.screenshot("login").await;

    // Register through the form.
    page.click("#login-form button.link").await;
    page.wait("#register-form").await;
    let username = format!("ada-{}", &support::random()[..6]);
    page.fill("#register-form", "username", &username).await;
    page.fill(
        "#register-form",
        "email",
        &format!("{username}@example.com"),
    )
    .await;
    page.fill("#register-form", "password", "short").await;
    page.screenshot("register").await;
    page.click("#register-form button[type=submit]").await;
    // The browser's own validation (minlength) keeps the form; fix the password.
    page.fill("#register-form", "password", "correct horse battery")
        .await;
    page.fill("#register-form", "organization", "Analytical Engines")
        .await;
    page.click("#register-form button[type=submit]").await;
    page.wait_text("main", "No customers yet").await;
    page.wait_text("#who", &username).await;
    page.screenshot("customers-empty").await;

    // Create a customer.
    page.click("#new-customer").await;
    page.fill("#customer-form", "name", "Charles Babbage").await;
    page.fill("#customer-form", "email", "charles@example.com")
        .await;
    page.fill("#customer-form", "company", "Difference Engines Ltd")
        .await;
    page.screenshot("customer-form").await;
    page.click("#customer-form button[type=submit]").await;
    page.wait_text("#customers", "Charles Babbage").await;
    page.wait_gone("#customer-form").await;

    // A validation error shows the server's detail.
    page.click("#new-customer").await;
    page.fill("#customer-form", "name", "Bad Email").await;
    page.js("document.querySelector('#customer-form [name=email]').type = 'text';")
        .await;
    page.fill("#customer-form", "email", "not-an-email").await;
    page.click("#customer-form button[type=submit]").await;
    page.wait("#customer-form .error").await;
    assert!(
        page.text("#customer-form .error").await.contains("email"),
        "{}",
        page.text("#customer-form .error").await
    );
    page.screenshot("customer-form-error").await;
    page.click("#customer-form button.secondary").await;

    // Edit it.
    page.click("[data-action=edit]").await;
    page.fill("#customer-form", "phone", "+44 20 7946 0000")
        .await;
    page.click("#customer-form button[type=submit]").await;
    page.wait_text("#customers", "+44 20 7946 0000").await;
    page.screenshot("customers").await;
    page.assert_no_readable_token().await;

    // The registration's cookie is a session cookie: no expiry. WebDriver sees it (it is
    // HttpOnly: the page does not).
    let refresh = page.refresh_cookie().await.expect("a refresh cookie");
    assert!(
        refresh.expires().is_none(),
        "not a session cookie: {refresh:?}"
    );
    assert_eq!(refresh.http_only(), Some(true));
    assert_eq!(refresh.path(), Some("/api/auth/browser"));

    // A reload keeps the session (the cookie), though the token was only in memory.
    page.client.refresh().await.unwrap();
    page.wait_text("#customers", "Charles Babbage").await;
    page.assert_no_readable_token().await;

    // Phone width: the table becomes cards, everything still reachable.
    page.client.set_window_size(390, 844).await.unwrap();
    page.wait_text("#customers", "Charles Babbage").await;
    page.screenshot("customers-phone").await;
    page.client.set_window_size(1200, 800).await.unwrap();

    // Log out; sign in with remember-me: a persistent cookie.
    page.click("#logout").await;
    page.wait_text("#login-message", "signed out").await;
    page.sign_in(&username, "correct horse battery", true).await;
    page.wait_text("#customers", "Charles Babbage").await;
    let refresh = page.refresh_cookie().await.expect("a refresh cookie");
    assert!(
        refresh.expires().is_some(),
        "remember-me gave no persistent cookie: {refresh:?}"
    );
    page.client.refresh().await.unwrap();
    page.wait_text("#customers", "Charles Babbage").await;
    page.assert_no_readable_token().await;
    page.assert_no_errors().await;

    // Another browser (a fresh profile): not signed in. Keyboard only: tab to the fields,
    // type, submit with Enter.
    let other = Page::open(&driver, &crm).await;
    other.goto("/").await;
    other.wait("#login-form").await;
    assert!(!other.shown("#top").await);
    let focused = other
        .js("return document.activeElement && document.activeElement.name;")
        .await;
    assert_eq!(focused, "username", "the username field has the focus");
    let active = other.client.active_element().await.unwrap();
    active
        .send_keys(&format!("{username}\u{E004}correct horse battery\u{E007}"))
        .await
        .unwrap();
    other.wait_text("#customers", "Charles Babbage").await;

    // Change the password there: a wrong old one shows the server's detail; the right one
    // keeps this browser signed in (a reload too) and ends the first browser's session.
    other.click("[data-nav=account]").await;
    other
        .fill("#password-form", "old_password", "not my password")
        .await;
    other
        .fill("#password-form", "new_password", "a brand new secret")
        .await;
    other
        .fill("#password-form", "repeat", "a brand new secret")
        .await;
    other.click("#password-form button[type=submit]").await;
    other
        .wait_text("#password-form .error", "old password is wrong")
        .await;
    other
        .fill("#password-form", "old_password", "correct horse battery")
        .await;
    other.click("#password-form button[type=submit]").await;
    other.wait_text("#notice", "Password changed").await;
    other.screenshot("account").await;
    other.client.refresh().await.unwrap();
    other.wait("#password-form").await;
    other.click("[data-nav=customers]").await;
    other.wait_text("#customers", "Charles Babbage").await;
    other.assert_no_errors().await;
    other.close().await;

    // The first browser's session was ended by the change: the sessions page (stateless) no
    // longer lists it, and its next sensitive action (ending the other browser's session)
    // brings the sign-in page with a message.
    page.click("[data-nav=sessions]").await;
    page.wait("#sessions").await;
    assert!(!page.shown("#sessions tr.current").await);
    page.click("#sessions [data-action=end-session]").await;
    page.wait("#login-form").await;
    assert!(
        page.text("#login-message")
            .await
            .contains("session has ended"),
        "{}",
        page.text("main").await
    );
    page.sign_in(&username, "a brand new secret", false).await;
    page.wait("#sessions tr.current").await;
    page.click("[data-nav=customers]").await;
    page.wait_text("#customers", "Charles Babbage").await;
    page.assert_no_errors().await;
    page.close().await;
}

/// With 2-second access tokens: work across several expiries without a visible error; two
/// windows of one browser firing several calls at once across an expiry share one rotation
/// per expiry and stay signed in (no reuse detection); logging out in one window signs the
/// other out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiries_two_windows_and_logout() {
    let _one = one_at_a_time().await;
    let Some((driver, crm)) = setup(&["--access-ttl", "2s"]).await else {
        return;
    };
    let api = crm.api();
    let admin = api.register("org").await;
    for name in ["Grace Hopper", "Alan Turing", "Edsger Dijkstra"] {
        api.customer(&admin, name).await;
    }
    let user = api.create_user(&admin, "sam", &["sales"]).await;

    let page = Page::open(&driver, &crm).await;
    page.goto("/").await;
    page.sign_in(&user.username, &user.password, false).await;
    page.wait_text("#customers", "Grace Hopper").await;

    // Several expiries, one page action after each: never an error on the page.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(2300)).await;
        page.click("[data-action=reload]").await;
        page.wait_text("#customers", "Alan Turing").await;
        assert!(!page.shown(".error").await, "{}", page.text("main").await);
    }
    page.click("[data-nav=sessions]").await;
    page.wait("#sessions").await;
    page.wait("#logins").await;
    page.screenshot("sessions").await;
    page.click("[data-nav=customers]").await;
    page.wait_text("#customers", "Grace Hopper").await;

    // A second window of the same browser: shares the session (the first hands it the token).
    let first = page.client.window().await.unwrap();
    let second = page.client.new_window(false).await.unwrap().handle;
    page.client.switch_to_window(second.clone()).await.unwrap();
    page.goto("/#/sessions").await;
    page.wait("#sessions").await;

    // Rounds: wait for the token to expire, then make both windows fire several calls at the
    // same instant (each reloads its page and re-renders it).
    let rounds = 3;
    let before = crm.rotations();
    for _ in 0..rounds {
        tokio::time::sleep(Duration::from_millis(2300)).await;
        let at = page.js("return Date.now() + 700;").await.as_f64().unwrap();
        let fire = format!(
            "const wait = {at} - Date.now();\
             setTimeout(() => {{\
               for (const b of document.querySelectorAll('[data-action=reload]')) b.click();\
               window.dispatchEvent(new HashChangeEvent('hashchange'));\
               window.dispatchEvent(new HashChangeEvent('hashchange'));\
             }}, wait);"
        );
        for window in [&first, &second] {
            page.client.switch_to_window(window.clone()).await.unwrap();
            page.js(&fire).await;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        for (window, css) in [(&first, "#customers"), (&second, "#sessions")] {
            page.client.switch_to_window(window.clone()).await.unwrap();
            page.wait(css).await;
            assert!(!page.shown("#login-form").await, "signed out");
            assert!(!page.shown(".error").await, "{}", page.text("main").await);
        }
    }
    let rotations = crm.rotations() - before;
    assert_eq!(
        rotations, rounds,
        "one rotation per expiry, whatever the windows and calls"
    );
    assert!(
        !crm.log().contains("reuse detected"),
        "reuse detection fired"
    );
    let sessions = api.sessions_of(&admin, &user).await;
    assert_eq!(sessions.len(), 1, "the session lives on: {sessions:?}");
    page.screenshot("sessions-second-window").await;
    page.assert_no_errors().await;
    page.assert_no_readable_token().await;

    // Log out in the second window: the first shows the login page.
    page.click("#logout").await;
    page.wait("#login-form").await;
    page.client.switch_to_window(first.clone()).await.unwrap();
    page.wait("#login-form").await;
    assert!(
        page.text("#login-message").await.contains("another tab"),
        "{}",
        page.text("main").await
    );
    page.screenshot("signed-out-elsewhere").await;
    page.assert_no_errors().await;
    assert!(api.sessions_of(&admin, &user).await.is_empty());
    page.close().await;
}

/// A second browser ends the first one's session from the sessions page: the first's next
/// sensitive action lands on the login page with a message. An admin changes a user's role
/// on the users page: the user's next sensitive action refreshes into the new permissions
/// without signing out. A user without customer:delete is not offered delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_ended_elsewhere_and_role_changes() {
    let _one = one_at_a_time().await;
    let Some((driver, crm)) = setup(&[]).await else {
        return;
    };
    let api = crm.api();
    let admin = api.register("org").await;
    api.customer(&admin, "Barbara Liskov").await;
    api.customer(&admin, "Donald Knuth").await;
    let sam = api.create_user(&admin, "sam", &["manager"]).await;
    let vic = api.create_user(&admin, "vic", &["viewer"]).await;

    // A viewer is offered neither create, edit nor delete.
    let viewer = Page::open(&driver, &crm).await;
    viewer.goto("/").await;
    viewer.sign_in(&vic.username, &vic.password, false).await;
    viewer.wait_text("#customers", "Barbara Liskov").await;
    assert!(!viewer.shown("[data-action=delete]").await);
    assert!(!viewer.shown("[data-action=edit]").await);
    assert!(!viewer.shown("#new-customer").await);
    assert!(!viewer.shown("[data-nav=users]").await);
    viewer.screenshot("customers-viewer").await;
    viewer.assert_no_errors().await;
    viewer.close().await;

    // Sam (manager) is offered delete.
    let sam_page = Page::open(&driver, &crm).await;
    sam_page.goto("/").await;
    sam_page.sign_in(&sam.username, &sam.password, false).await;
    sam_page.wait_text("#customers", "Barbara Liskov").await;
    assert!(sam_page.shown("[data-action=delete]").await);

    // The admin, in another browser, makes Sam a viewer on the users page.
    let admin_page = Page::open(&driver, &crm).await;
    admin_page.goto("/").await;
    admin_page
        .sign_in(&admin.username, &admin.password, false)
        .await;
    admin_page.click("[data-nav=users]").await;
    let card = format!("[data-username='{}']", sam.username);
    admin_page.wait(&card).await;
    admin_page.screenshot("users").await;
    admin_page
        .wait(&format!("{card} select[name=role]"))
        .await
        .select_by_value("viewer")
        .await
        .unwrap();
    admin_page
        .click(&format!("{card} [data-action=save-role]"))
        .await;
    admin_page.wait_text(&card, "viewer").await;

    // Suspend and reinstate Vic from the same page.
    let vic_card = format!("[data-username='{}']", vic.username);
    admin_page
        .click(&format!("{vic_card} [data-action=suspend]"))
        .await;
    admin_page.wait_text(&vic_card, "Suspended").await;
    admin_page.screenshot("users-suspended").await;
    admin_page
        .click(&format!("{vic_card} [data-action=reinstate]"))
        .await;
    admin_page
        .wait(&format!("{vic_card} [data-action=suspend]"))
        .await;
    assert!(!admin_page.text(&vic_card).await.contains("Suspended"));

    // Sam's next sensitive action (a delete) meets the stale token, refreshes into the viewer's
    // permissions, is refused, and the page redraws without delete; still signed in.
    let rotations = crm.rotations();
    sam_page.click("[data-action=delete]").await;
    sam_page.click("[data-action=confirm-delete]").await;
    sam_page.wait_gone("[data-action=delete]").await;
    assert!(!sam_page.shown("#new-customer").await);
    assert!(!sam_page.shown("#login-form").await);
    sam_page.wait_text("#customers", "Barbara Liskov").await;
    assert_eq!(crm.rotations(), rotations + 1, "one refresh");
    sam_page.wait_text("#notice", "permission").await;
    sam_page.screenshot("customers-after-role-change").await;
    assert_eq!(api.sessions_of(&admin, &sam).await.len(), 1);

    // The admin looks at Sam's sessions from the users page.
    admin_page
        .click(&format!("{card} [data-action=user-sessions]"))
        .await;
    admin_page
        .wait(&format!("[id='sessions-{}'] tbody tr", sam.id))
        .await;
    admin_page.screenshot("users-sessions").await;

    // Sam signs in on a second browser and ends the first browser's session from its
    // sessions page.
    let sam_phone = Page::open(&driver, &crm).await;
    sam_phone.client.set_window_size(390, 844).await.unwrap();
    sam_phone.goto("/").await;
    sam_phone.sign_in(&sam.username, &sam.password, false).await;
    sam_phone.click("[data-nav=sessions]").await;
    sam_phone.wait("#sessions tr.current").await;
    sam_phone.screenshot("sessions-phone").await;
    sam_phone
        .click("#sessions tbody tr:not(.current) [data-action=end-session]")
        .await;
    sam_phone.wait_text("#notice", "Session ended").await;
    assert_eq!(api.sessions_of(&admin, &sam).await.len(), 1);

    // The first browser's next sensitive action: the login page, with a message.
    sam_page.click("[data-nav=sessions]").await;
    sam_page.wait("#sessions").await;
    sam_page
        .click("#sessions tbody tr:not(.current) [data-action=end-session]")
        .await;
    sam_page.wait("#login-form").await;
    assert!(
        sam_page
            .text("#login-message")
            .await
            .contains("session has ended"),
        "{}",
        sam_page.text("main").await
    );
    sam_page.screenshot("session-ended").await;

    // The admin ends the phone's session from the users page.
    admin_page.click("[data-nav=customers]").await;
    admin_page.click("[data-nav=users]").await;
    admin_page
        .click(&format!("{card} [data-action=user-sessions]"))
        .await;
    admin_page
        .click(&format!(
            "[id='sessions-{}'] [data-action=end-session]",
            sam.id
        ))
        .await;
    admin_page
        .wait_text(&format!("{card} .user-sessions"), "No active sessions")
        .await;
    assert!(api.sessions_of(&admin, &sam).await.is_empty());
    sam_phone.click("#logout-everywhere").await;
    sam_phone.wait("#login-form").await;

    for page in [&sam_page, &admin_page, &sam_phone] {
        page.assert_no_errors().await;
        page.assert_no_readable_token().await;
    }
    sam_page.close().await;
    admin_page.close().await;
    sam_phone.close().await;
}

/// A page on another site (127.0.0.1 vs the app on localhost) posting with credentials to
/// the refresh and logout routes is refused 403 by the CSRF guard: the session is untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_page_cannot_refresh_or_log_out() {
    let _one = one_at_a_time().await;
    let Some((driver, crm)) = setup(&[]).await else {
        return;
    };
    let api = crm.api();
    let admin = api.register("org").await;
    api.customer(&admin, "Radia Perlman").await;
    let user = api.create_user(&admin, "sam", &["sales"]).await;

    let page = Page::open(&driver, &crm).await;
    page.goto("/").await;
    page.sign_in(&user.username, &user.password, true).await;
    page.wait_text("#customers", "Radia Perlman").await;
    let sessions = api.sessions_of(&admin, &user).await;
    assert_eq!(sessions.len(), 1);
    let rotations = crm.rotations();

    let hostile = Hostile::serve(&crm.base).await;
    page.client.goto(&hostile.url).await.unwrap();
    let started = Instant::now();
    while page.client.title().await.unwrap() != "done" {
        assert!(started.elapsed() < Duration::from_secs(15), "the page hung");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused_refresh = crm.count("POST", "/api/auth/browser/refresh", 403);
    let refused_logout = crm.count("POST", "/api/auth/browser/logout", 403);
    assert_eq!(refused_refresh, 1, "{}", crm.log());
    assert_eq!(refused_logout, 2, "fetch and form: {}", crm.log());
    assert_eq!(crm.rotations(), rotations);
    assert_eq!(crm.count("POST", "/api/auth/browser/logout", 204), 0);

    // The session is untouched: still listed, and the app still signed in.
    assert_eq!(api.sessions_of(&admin, &user).await, sessions);
    page.goto("/").await;
    page.wait_text("#customers", "Radia Perlman").await;
    page.assert_no_errors().await;
    page.close().await;
}

/// Where Web Locks and BroadcastChannel are missing (taken away before the app loads), the
/// fallbacks keep two windows from spending one cookie: each refreshes for itself, one after
/// the other (a lock in IndexedDB), so no reuse is detected and both stay signed in; a
/// logout still reaches the other window (a localStorage event).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fallbacks_without_web_locks_or_broadcast_channel() {
    let _one = one_at_a_time().await;
    let Some((driver, crm)) = setup(&["--access-ttl", "2s"]).await else {
        return;
    };
    let api = crm.api();
    let admin = api.register("org").await;
    api.customer(&admin, "Frances Allen").await;
    let user = api.create_user(&admin, "sam", &["sales"]).await;
    let without = "delete Navigator.prototype.locks; delete window.BroadcastChannel;";

    let page = Page::open(&driver, &crm).await;
    page.before_each_load(without).await;
    page.goto("/").await;
    page.sign_in(&user.username, &user.password, false).await;
    page.wait_text("#customers", "Frances Allen").await;
    let missing = page
        .js("return [typeof navigator.locks, typeof BroadcastChannel];")
        .await;
    assert_eq!(missing, serde_json::json!(["undefined", "undefined"]));
    let first = page.client.window().await.unwrap();
    let second = page.client.new_window(false).await.unwrap().handle;
    page.client.switch_to_window(second.clone()).await.unwrap();
    page.before_each_load(without).await;
    page.goto("/#/sessions").await;
    page.wait("#sessions").await;

    let rounds = 2;
    let before = crm.rotations();
    for _ in 0..rounds {
        tokio::time::sleep(Duration::from_millis(2300)).await;
        let at = page.js("return Date.now() + 700;").await.as_f64().unwrap();
        let fire = format!(
            "setTimeout(() => {{\
               for (const b of document.querySelectorAll('[data-action=reload]')) b.click();\
               window.dispatchEvent(new HashChangeEvent('hashchange'));\
             }}, {at} - Date.now());"
        );
        for window in [&first, &second] {
            page.client.switch_to_window(window.clone()).await.unwrap();
            page.js(&fire).await;
        }
        tokio::time::sleep(Duration::from_millis(1800)).await;
        for (window, css) in [(&first, "#customers"), (&second, "#sessions")] {
            page.client.switch_to_window(window.clone()).await.unwrap();
            page.wait(css).await;
            assert!(!page.shown("#login-form").await, "signed out");
            assert!(!page.shown(".error").await, "{}", page.text("main").await);
        }
    }
    let rotations = crm.rotations() - before;
    assert_eq!(
        rotations,
        2 * rounds,
        "without BroadcastChannel each window refreshes for itself, one after the other"
    );
    assert!(
        !crm.log().contains("reuse detected"),
        "reuse detection fired"
    );
    assert_eq!(api.sessions_of(&admin, &user).await.len(), 1);
    page.assert_no_readable_token().await;
    page.assert_no_errors().await;

    page.click("#logout").await;
    page.wait("#login-form").await;
    page.client.switch_to_window(first).await.unwrap();
    page.wait("#login-form").await;
    assert!(
        page.text("#login-message").await.contains("another tab"),
        "{}",
        page.text("main").await
    );
    page.assert_no_errors().await;
    page.close().await;
}
