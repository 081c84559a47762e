using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Playwright;
using Worker.Contracts;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;
using static Microsoft.Playwright.Assertions;

namespace Worker.IntegrationTests.Browser;

/// <summary>
/// The ops console as a person uses it, in headless Chromium against a real worker, simulator, RabbitMQ and PostgreSQL:
/// log in with the token, read the tiles (checked against <c>GET /status</c> fetched by the test), look at providers and
/// charts, open a parked group, dry-run and replay it, watch the operation finish, and look a request up. The selectors
/// are the console's DOM contract. Screenshots for the README go to .run/screenshots/.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleBrowserTests(ConsoleFixture fixture, ChromiumFixture chromium) : IClassFixture<ChromiumFixture>, IAsyncLifetime
{
    private static readonly string[] KpiNames = ["availability", "fallback_rate", "mttr", "p95", "cost", "cost_saved"];
    private static readonly string[] ChartNames = ["calls", "error_rate", "p95", "fallback_rate"];

    /// <summary>Bound on one UI wait for data the worker already has.</summary>
    private const float UiTimeout = 20_000;

    /// <summary>Bound on waiting for a replay to run to its end, as the fixtures wait for results.</summary>
    private static readonly float ReplayTimeout = (float)TestEnvironment.ResultTimeout.TotalMilliseconds * 2;

    private readonly ConsoleFixture _f = fixture;
    private BrowserSession _session = null!;

    private IPage Page => _session.Page;

    public async Task InitializeAsync()
    {
        _f.Sim.Clear();
        _session = await chromium.NewPageAsync(_f.BaseAddress);
    }

    public async Task DisposeAsync()
    {
        _f.Sim.Clear();
        await _session.DisposeAsync();
    }

    [Fact]
    public async Task A_wrong_token_is_refused_and_the_right_one_opens_the_console_keeping_the_token_in_session_storage_only()
    {
        await OpenConsoleAsync();
        await Expect(Page.Locator("#app")).ToBeHiddenAsync();

        await Page.FillAsync("#token", "not-the-ops-token");
        await Page.ClickAsync("#login");

        await Expect(Page.Locator("#login-error")).ToBeVisibleAsync(new() { Timeout = UiTimeout });
        await Expect(Page.Locator("#login-error")).ToContainTextAsync(new Regex("refused|rejected|denied|not accepted", RegexOptions.IgnoreCase));
        await Expect(Page.Locator("#app")).ToBeHiddenAsync();
        Assert.False(await StoredAnywhereAsync("not-the-ops-token", "localStorage"));

        await LoginAsync();

        await Expect(Page.Locator("#login-form")).ToBeHiddenAsync();
        Assert.True(await StoredAnywhereAsync(ConsoleFixture.Key, "sessionStorage"), "the token should be in sessionStorage");
        Assert.False(await StoredAnywhereAsync(ConsoleFixture.Key, "localStorage"), "the token must never reach localStorage");
        Assert.DoesNotContain(await _session.Context.CookiesAsync(), c => c.Value.Contains(ConsoleFixture.Key, StringComparison.Ordinal));

        await Page.ClickAsync("#logout");

        await Expect(Page.Locator("#login-form")).ToBeVisibleAsync(new() { Timeout = UiTimeout });
        await Expect(Page.Locator("#app")).ToBeHiddenAsync();
        Assert.False(await StoredAnywhereAsync(ConsoleFixture.Key, "sessionStorage"), "logging out should clear the token");
    }

    [Fact]
    public async Task Each_tile_shows_the_figure_and_state_the_status_api_gives_for_the_window_chosen()
    {
        await LoginAsync();
        await Expect(Page.Locator("#window")).ToHaveValueAsync("1h");
        var options = await Page.Locator("#window option").EvaluateAllAsync<string[]>("os => os.map(o => o.value)");
        Assert.Equal(["1h", "24h", "7d"], options);

        var hour = await ShowWindowAsync("1h");
        await AssertTilesShowAsync(hour);
        await AssertRecommendationsShowAsync(hour);
        await Screenshots.TakeAsync(Page, "console-status.png");

        var day = await ShowWindowAsync("24h");
        await AssertTilesShowAsync(day);
        await AssertRecommendationsShowAsync(day);
    }

    [Fact]
    public async Task The_providers_table_has_a_row_per_provider_of_the_api_and_the_four_charts_draw()
    {
        await LoginAsync();
        var expected = (await _f.GetJsonAsync("/providers"))["providers"]!.AsArray().Select(p => (string)p!["provider"]!).ToList();
        Assert.NotEmpty(expected);

        var rows = Page.Locator("#providers tr[data-provider]");
        await Expect(rows.First).ToBeVisibleAsync(new() { Timeout = UiTimeout });
        var shown = await rows.EvaluateAllAsync<string[]>("rs => rs.map(r => r.dataset.provider)");
        // One row per entry of GET /providers (a provider and model each) or per provider name: the same set of providers.
        Assert.Equal(expected.Distinct().Order(), shown.Distinct().Order());
        Assert.True(shown.Length == expected.Count || shown.Length == expected.Distinct().Count(),
            $"{shown.Length} provider rows for {expected.Count} entries of GET /providers ({expected.Distinct().Count()} providers)");
        foreach (var cell in new[] { ".state", ".breaker", ".last-ping", ".quota" })
            Assert.Equal(shown.Length, await Page.Locator($"#providers tr[data-provider] {cell}").CountAsync());

        foreach (var chart in ChartNames)
            await Expect(Page.Locator($"#charts [data-chart=\"{chart}\"] canvas").First).ToBeAttachedAsync(new() { Timeout = UiTimeout });

        await ScrollToSectionOfAsync("#providers");
        await Screenshots.TakeAsync(Page, "console-providers.png");
    }

    [Fact]
    public async Task A_parked_group_is_opened_dry_run_and_replayed_and_the_operation_finishes_with_each_request_answered_once()
    {
        var parked = await _f.ParkAsync(_f.ReplayChain, 2);
        var group = await GroupOfAsync(_f.ReplayChain, parked);
        var groups = (await _f.GetJsonAsync("/dead-letters/groups")).AsArray();
        Assert.Equal(2, (int)Assert.Single(groups, g => (string?)g!["group"] == group)!["count"]!);

        await LoginAsync();
        var groupRow = Page.Locator($"#dead-letter-groups tr[data-group=\"{group}\"]");
        await Expect(groupRow.Locator(".count")).ToHaveTextAsync(new Regex(@"^\D*2\D*$"), new() { Timeout = UiTimeout });
        await Expect(Page.Locator("#replay")).ToBeDisabledAsync();

        await groupRow.Locator("button.open").ClickAsync();

        foreach (var id in parked)
            await Expect(Page.Locator($"#group-items tr[data-request-id=\"{id}\"]")).ToBeVisibleAsync(new() { Timeout = UiTimeout });
        await Expect(Page.Locator("#group-items tr[data-request-id]")).ToHaveCountAsync(2);
        await Expect(Page.Locator("#dry-run")).ToBeEnabledAsync();
        await Expect(Page.Locator("#archive")).ToBeEnabledAsync();
        await Expect(Page.Locator("#replay")).ToBeDisabledAsync();
        await ScrollToSectionOfAsync("#dead-letter-groups");
        await Screenshots.TakeAsync(Page, "console-dead-letters.png");

        await Page.ClickAsync("#dry-run");

        await Expect(Page.Locator("#dry-run-result")).ToHaveAttributeAsync("data-selected", "2", new() { Timeout = UiTimeout });
        await Expect(Page.Locator("#replay")).ToBeEnabledAsync();
        Assert.Equal("parked", await DeadLetterStatusAsync(parked[0]));

        // The providers are back: the replay can answer.
        _f.Sim.Clear();
        await Page.ClickAsync("#replay");

        var operation = Page.Locator("#operation");
        await Expect(operation).ToHaveAttributeAsync("data-operation-id", new Regex("^[0-9a-f-]{36}$"), new() { Timeout = UiTimeout });
        await Expect(operation).ToHaveAttributeAsync("data-status", "completed", new() { Timeout = ReplayTimeout });
        await Expect(operation).ToContainTextAsync(new Regex(@"2\s+succeeded|succeeded\W*2", RegexOptions.IgnoreCase), new() { Timeout = ReplayTimeout });
        await ScrollToSectionOfAsync("#dead-letter-groups");
        await Screenshots.TakeAsync(Page, "console-replay-done.png");

        // What the page showed is what happened: one operation by "console", one new answer per request, one call each.
        var operationId = Guid.Parse((await operation.GetAttributeAsync("data-operation-id"))!);
        var done = await _f.WaitForOperationAsync(operationId);
        Assert.Equal(("replay", "console", 2, 2, 0), ((string?)done["kind"], (string?)done["requestedBy"], (int)done["total"]!, (int)done["done"]!, (int)done["skipped"]!));
        Assert.Equal((2, 0, 0, 0), ((int)done["outcomes"]!["succeeded"]!, (int)done["outcomes"]!["failed"]!, (int)done["outcomes"]!["parked"]!, (int)done["outcomes"]!["pending"]!));
        foreach (var id in parked)
        {
            var results = await _f.Producer.WaitForResultsAsync(id, 2);
            Assert.IsType<CompletionFailed>(results[0]);
            var answered = Assert.IsType<CompletionSucceeded>(results[1]);
            Assert.Equal(("gemini", 1), (answered.Provider, answered.Attempts));
            var request = (await _f.GetJsonAsync($"/requests/{id}"))["request"]!;
            Assert.Equal(("succeeded", 1), ((string?)request["status"], (int)request["replayCount"]!));
            var row = await AuditDatabase.FindAsync(_f.Database, id);
            Assert.Equal((RequestStatus.Succeeded, 1), (row!.Status, row.ReplayCount));
            Assert.Equal("replayed", await DeadLetterStatusAsync(id));
        }

        Assert.Equal((2L, 0L), (_f.Sim.GetCounters("gemini").Total, _f.Sim.GetCounters("openai").Total));
        Assert.All(parked, id => Assert.Equal(2, _f.Producer.ResultCount(id)));
    }

    [Fact]
    public async Task Looking_up_a_replayed_request_shows_its_attempts_and_an_unknown_or_malformed_id_shows_the_api_problem()
    {
        var id = Assert.Single(await _f.ParkAsync(_f.LookupChain, 1));
        _f.Sim.Clear();
        var accepted = await _f.PostAsync("/dead-letters/replay", new { requestIds = new[] { id } }, HttpStatusCode.Accepted);
        await _f.WaitForOperationAsync((Guid)accepted["operationId"]!);
        await _f.Producer.WaitForResultsAsync(id, 2);
        var attempts = (await _f.GetJsonAsync($"/requests/{id}"))["attempts"]!.AsArray();
        Assert.True(attempts.Count >= 3, $"parked after gemini and openai failed, then answered: {attempts.ToJsonString()}");

        await LoginAsync();
        await Page.FillAsync("#lookup-id", id.ToString());
        await Page.ClickAsync("#lookup");

        var events = Page.Locator("#timeline li");
        // Received, every attempt, the outcome: more entries than attempts.
        await Expect(events.Nth(attempts.Count)).ToBeAttachedAsync(new() { Timeout = UiTimeout });
        var timeline = await Page.Locator("#timeline").InnerTextAsync();
        foreach (var attempt in attempts)
            Assert.Contains((string)attempt!["provider"]!, timeline, StringComparison.Ordinal);
        Assert.Contains(ConsoleFixture.PrimaryModel, timeline, StringComparison.Ordinal);
        Assert.Contains(ConsoleFixture.FallbackModel, timeline, StringComparison.Ordinal);
        await Expect(Page.Locator("#lookup-error")).ToBeHiddenAsync();
        await ScrollToSectionOfAsync("#timeline");
        await Screenshots.TakeAsync(Page, "console-request.png");

        var unknown = Guid.NewGuid();
        await Page.FillAsync("#lookup-id", unknown.ToString());
        await Page.ClickAsync("#lookup");

        await Expect(Page.Locator("#lookup-error")).ToBeVisibleAsync(new() { Timeout = UiTimeout });
        await Expect(Page.Locator("#lookup-error")).ToContainTextAsync($"No request with id {unknown}");

        await Page.FillAsync("#lookup-id", "not-a-request-id");
        await Page.ClickAsync("#lookup");

        await Expect(Page.Locator("#lookup-error")).ToContainTextAsync("must be a GUID", new() { Timeout = UiTimeout });
    }

    /// <summary>Opens the console and logs in with the ops token; the app is visible after.</summary>
    private async Task LoginAsync()
    {
        await OpenConsoleAsync();
        await Page.FillAsync("#token", ConsoleFixture.Key);
        await Page.ClickAsync("#login");
        await Expect(Page.Locator("#app")).ToBeVisibleAsync(new() { Timeout = UiTimeout });
    }

    /// <summary>Opens /console/, after checking that its shell is served without a token (it holds no data).</summary>
    private async Task OpenConsoleAsync()
    {
        using (var shell = await _f.Anonymous.GetAsync("console/"))
        {
            Assert.True(shell.StatusCode == HttpStatusCode.OK,
                $"GET /console/ without a token answered {(int)shell.StatusCode}: {await shell.Content.ReadAsStringAsync()}");
        }

        await Page.GotoAsync("console/");
    }

    /// <summary>Scrolls the section holding <paramref name="selector"/> to the top of the viewport, for a screenshot of it.</summary>
    private Task ScrollToSectionOfAsync(string selector) =>
        Page.Locator(selector).EvaluateAsync("e => (e.closest('section') ?? e).scrollIntoView({ block: 'start' })");

    /// <summary>Whether any entry of <paramref name="storage"/> (sessionStorage or localStorage) holds <paramref name="value"/>.</summary>
    private Task<bool> StoredAnywhereAsync(string value, string storage) =>
        Page.EvaluateAsync<bool>($"v => Object.keys({storage}).some(k => ({storage}.getItem(k) || '').includes(v))", value);

    /// <summary>
    /// Chooses <paramref name="window"/> in #window (through another window when it is chosen already, so the page loads
    /// it anew) until the <c>GET /status</c> the page receives holds the same figures as the test's own reads of the API
    /// just before and after; returns those figures. Figures only move when traffic arrives, which this collection
    /// controls, so a difference means a request finished in between, and the next try settles it.
    /// </summary>
    private async Task<JsonNode> ShowWindowAsync(string window)
    {
        var (settled, last) = await Eventually.PollAsync(async () =>
        {
            var before = await _f.GetJsonAsync($"/status?window={window}");
            if (await Page.InputValueAsync("#window") == window)
                await SelectWindowAsync(window == "1h" ? "24h" : "1h");
            var shown = await SelectWindowAsync(window);
            var after = await _f.GetJsonAsync($"/status?window={window}");
            return (Before: before, Shown: shown, After: after);
        }, r => Figures(r.Before) == Figures(r.Shown) && Figures(r.Shown) == Figures(r.After), TestEnvironment.ResultTimeout);
        Assert.True(settled, $"GET /status?window={window} kept changing: the page got {Figures(last.Shown)}, the test {Figures(last.After)}");
        return last.Shown;
    }

    /// <summary>Selects <paramref name="window"/> and returns the body of the <c>GET /status</c> it made the page send.</summary>
    private async Task<JsonNode> SelectWindowAsync(string window)
    {
        var response = await Page.RunAndWaitForResponseAsync(
            () => Page.SelectOptionAsync("#window", window),
            r => IsStatusOf(r.Url, window) && r.Request.Method == "GET",
            new() { Timeout = UiTimeout });
        Assert.Equal(200, response.Status);
        return JsonNode.Parse(await response.TextAsync())!;
    }

    /// <summary>A <c>GET /status</c> for <paramref name="window"/>; the default window may be asked for without a parameter.</summary>
    private static bool IsStatusOf(string url, string window)
    {
        var uri = new Uri(url);
        if (uri.AbsolutePath != "/status")
            return false;
        var query = QueryHelpers.ParseQuery(uri.Query);
        return query.TryGetValue("window", out var asked) ? asked == window : window == "1h";
    }

    /// <summary>The KPI names, values and states, and the recommendations, as one comparable string.</summary>
    private static string Figures(JsonNode status) =>
        string.Join("; ", status["kpis"]!.AsArray().Select(k => $"{k!["name"]}={k["value"]?.ToJsonString() ?? "null"}/{k["state"]}"))
        + " | " + status["recommendations"]!.ToJsonString();

    /// <summary>Every tile shows its KPI's raw value (as a number: "0.50" and "0.5" are one value) and state.</summary>
    private async Task AssertTilesShowAsync(JsonNode status)
    {
        var kpis = status["kpis"]!.AsArray();
        Assert.Equal(KpiNames.Order(), kpis.Select(k => (string)k!["name"]!).Order());
        foreach (var kpi in kpis)
        {
            var tile = Page.Locator($"[data-kpi=\"{kpi!["name"]}\"]");
            await Expect(tile).ToHaveCountAsync(1);
            await Expect(tile).ToHaveAttributeAsync("data-state", (string)kpi["state"]!, new() { Timeout = UiTimeout });
            await Expect(tile.Locator(".kpi-value")).ToHaveCountAsync(1);
            await Expect(tile.Locator(".kpi-target")).ToHaveCountAsync(1);
            var expected = kpi["value"] is { } value ? value.GetValue<double>() : (double?)null;
            var shown = await Eventually.ValueAsync(() => tile.GetAttributeAsync("data-value"), v => SameValue(v, expected),
                TimeSpan.FromMilliseconds(UiTimeout), $"tile {kpi["name"]} to show data-value {expected?.ToString("R", CultureInfo.InvariantCulture) ?? "\"\""}");
            Assert.True(SameValue(shown, expected));
        }
    }

    private static bool SameValue(string? shown, double? expected) => expected is { } number
        ? double.TryParse(shown, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && parsed == number
        : shown == "";

    /// <summary>One item per recommendation, or the single "No recommendations" item.</summary>
    private async Task AssertRecommendationsShowAsync(JsonNode status)
    {
        var recommendations = status["recommendations"]!.AsArray();
        var items = Page.Locator("#recommendations li");
        if (recommendations.Count == 0)
        {
            await Expect(items).ToHaveCountAsync(1, new() { Timeout = UiTimeout });
            await Expect(Page.Locator("#recommendations li.none")).ToHaveTextAsync(new Regex("No recommendations", RegexOptions.IgnoreCase));
            return;
        }

        await Expect(Page.Locator("#recommendations li:not(.none)")).ToHaveCountAsync(recommendations.Count, new() { Timeout = UiTimeout });
        var text = await Page.Locator("#recommendations").InnerTextAsync();
        foreach (var recommendation in recommendations)
            Assert.Contains((string)recommendation!["text"]!, text, StringComparison.Ordinal);
    }

    /// <summary>The group key of <paramref name="parked"/> (all of them in one group), from <c>GET /dead-letters</c>.</summary>
    private async Task<string> GroupOfAsync(string chain, IReadOnlyList<Guid> parked)
    {
        var items = (await _f.GetJsonAsync($"/dead-letters?chain={chain}"))["items"]!.AsArray();
        Assert.Equal(parked.Order(), items.Select(i => (Guid)i!["requestId"]!).Order());
        return Assert.Single(items.Select(i => (string)i!["group"]!).Distinct());
    }

    private async Task<string?> DeadLetterStatusAsync(Guid id) => (string?)(await _f.GetJsonAsync($"/dead-letters/{id}"))["item"]!["status"];
}
