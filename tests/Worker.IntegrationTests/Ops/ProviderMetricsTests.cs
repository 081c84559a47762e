using System.Net;
using System.Text.Json.Nodes;
using Worker.Audit;
using Worker.Persistence;
using static Worker.IntegrationTests.Ops.Rows;

namespace Worker.IntegrationTests.Ops;

/// <summary>
/// GET /metrics/providers over a known data set. Chain: step 0 on provider A (model a1), step 1 on provider B (b1);
/// one request on A/a2. Times are seconds after T0 = now - 30 min; every expectation is worked out beside it.
/// </summary>
[Collection(OpsCollection.Name)]
public sealed class ProviderMetricsTests(OpsFixture fixture)
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    private static readonly DateTimeOffset T0 = Now.AddMinutes(-30);

    private static DateTimeOffset At(int seconds) => T0.AddSeconds(seconds);

    private async Task<(string A, string B)> SeedScenarioAsync(string name)
    {
        var a = $"ops-{fixture.Run}-{name}-a";
        var b = $"ops-{fixture.Run}-{name}-b";
        await fixture.SeedAsync(
            // R1: a1 fails (server), its retry answers.
            Request(RequestStatus.Succeeded, At(-1), At(11), a, "a1", false,
                Call(0, a, "a1", 1, At(0), 100, "server", "retried"),
                Call(0, a, "a1", 2, At(10), 200, inputTokens: 10, outputTokens: 20, costUsd: 0.001m)),
            // R2: a1 fails twice (rate_limit, server), b1 answers: a fallback.
            Request(RequestStatus.Succeeded, At(19), At(41), b, "b1", true,
                Call(0, a, "a1", 1, At(20), 300, "rate_limit", "retried"),
                Call(0, a, "a1", 2, At(30), 400, "server", "fell_back"),
                Call(1, b, "b1", 1, At(40), 500, inputTokens: 30, outputTokens: 40, costUsd: 0.002m)),
            // R3: a1 answers at once.
            Request(RequestStatus.Succeeded, At(49), At(51), a, "a1", false,
                Call(0, a, "a1", 1, At(50), 600, inputTokens: 5, outputTokens: 5, costUsd: 0.0005m)),
            // R4: a1 times out, b1 fails too: the request failed (not a fallback: nobody answered).
            Request(RequestStatus.Failed, At(59), At(71), b, "b1", false,
                Call(0, a, "a1", 1, At(60), 1000, "timeout", "fell_back"),
                Call(1, b, "b1", 1, At(70), 700, "server", "gave_up")),
            // R5: a1 skipped (breaker open, no call), b1 answers without a price: a fallback.
            Request(RequestStatus.Succeeded, At(79), At(81), b, "b1", true,
                Skipped(0, a, "a1", At(80), "skipped: breaker open"),
                Call(1, b, "b1", 1, At(80), 800, inputTokens: 1, outputTokens: 2)),
            // R6: still running after an a1 failure: a call, but not a finished request for the fallback rate.
            Request(RequestStatus.InProgress, At(89), null, null, null, false,
                Call(0, a, "a1", 1, At(90), 900, "server", "retried")),
            // R7: two hours ago, outside a 1h window.
            Request(RequestStatus.Succeeded, Now.AddHours(-2), Now.AddHours(-2).AddSeconds(6), a, "a1", false,
                Call(0, a, "a1", 1, Now.AddHours(-2).AddSeconds(1), 5000, inputTokens: 100, outputTokens: 100, costUsd: 1m)),
            // R8: another model of provider A, counted apart.
            Request(RequestStatus.Succeeded, At(99), At(101), a, "a2", false,
                Call(0, a, "a2", 1, At(100), 50, inputTokens: 7, outputTokens: 8, costUsd: 0.01m)));
        return (a, b);
    }

    private async Task<JsonNode> MetricsFor(string window, string provider, string model)
    {
        var report = await fixture.Client.GetJsonAsync($"/metrics/providers?window={window}");
        Assert.Equal(window, (string?)report["window"]);
        var rows = report["providers"]!.AsArray().Where(p => (string?)p!["provider"] == provider && (string?)p["model"] == model).ToList();
        return Assert.Single(rows)!;
    }

    [Fact]
    public async Task Primary_model_figures_match_the_hand_computed_ones()
    {
        var (a, _) = await SeedScenarioAsync("primary");

        var m = await MetricsFor("1h", a, "a1");

        // Calls made in the window: R1 x2, R2 x2, R3, R4, R6 = 7 (R5's skipped step is no call, R7 is outside).
        Assert.Equal(7, (long)m["calls"]!);
        // Failed: R1#1 server, R2#1 rate_limit, R2#2 server, R4 timeout, R6 server = 5 of 7.
        Assert.Equal(5, (long)m["errors"]!);
        Assert.Equal(0.7143, (double)m["errorRate"]!, 4);
        var byClass = m["errorsByClass"]!.AsObject();
        Assert.Equal(["rate_limit", "server", "timeout"], byClass.Select(c => c.Key).Order());
        Assert.Equal(3, (long)byClass["server"]!["count"]!);
        Assert.Equal(0.4286, (double)byClass["server"]!["rate"]!, 4);
        Assert.Equal(1, (long)byClass["rate_limit"]!["count"]!);
        Assert.Equal(0.1429, (double)byClass["timeout"]!["rate"]!, 4);

        // Latencies sorted: 100 200 300 400 600 900 1000. percentile_cont(p) interpolates at rank p * (7 - 1):
        // p50 -> rank 3 = 400; p95 -> rank 5.7 = 900 + 0.7 * 100 = 970; p99 -> rank 5.94 = 994.
        Assert.Equal(400, (double)m["latencyMs"]!["p50"]!, 1);
        Assert.Equal(970, (double)m["latencyMs"]!["p95"]!, 1);
        Assert.Equal(994, (double)m["latencyMs"]!["p99"]!, 1);

        // Of the 5 failed calls only R1#1 was rescued by a later a1 call of the same request.
        Assert.Equal(5, (long)m["retry"]!["failedCalls"]!);
        Assert.Equal(1, (long)m["retry"]!["rescued"]!);
        Assert.Equal(0.2, (double)m["retry"]!["successRate"]!, 4);

        // Finished requests starting on a1: R1 R2 R3 R4 R5 (R6 still running); answered by step 1: R2, R5.
        Assert.Equal(5, (long)m["fallback"]!["requests"]!);
        Assert.Equal(2, (long)m["fallback"]!["fellBack"]!);
        Assert.Equal(0.4, (double)m["fallback"]!["rate"]!, 4);

        // Streaks: 0s (recovered at 10s: 10 s), 20s..30s (recovered at 50s: 30 s), 60s..90s (not recovered).
        Assert.Equal(3, (long)m["recovery"]!["failureStreaks"]!);
        Assert.Equal(2, (long)m["recovery"]!["recovered"]!);
        Assert.Equal(20_000, (double)m["recovery"]!["meanTimeToRecoveryMs"]!, 0);

        // Tokens and cost of R1#2 and R3.
        Assert.Equal(15, (long)m["inputTokens"]!);
        Assert.Equal(25, (long)m["outputTokens"]!);
        Assert.Equal(0.0015m, (decimal)m["costUsd"]!);
    }

    [Fact]
    public async Task Fallback_model_figures_match_the_hand_computed_ones()
    {
        var (_, b) = await SeedScenarioAsync("fallback");

        var m = await MetricsFor("1h", b, "b1");

        // R2 ok 500 ms at 40s, R4 server 700 ms at 70s, R5 ok 800 ms at 80s.
        Assert.Equal(3, (long)m["calls"]!);
        Assert.Equal(1, (long)m["errors"]!);
        Assert.Equal(0.3333, (double)m["errorRate"]!, 4);
        Assert.Equal(1, (long)m["errorsByClass"]!["server"]!["count"]!);
        // Ranks p * 2: p50 -> 1 = 700; p95 -> 1.9 = 790; p99 -> 1.98 = 798.
        Assert.Equal(700, (double)m["latencyMs"]!["p50"]!, 1);
        Assert.Equal(790, (double)m["latencyMs"]!["p95"]!, 1);
        Assert.Equal(798, (double)m["latencyMs"]!["p99"]!, 1);
        // R4's failure was never rescued on b1.
        Assert.Equal(1, (long)m["retry"]!["failedCalls"]!);
        Assert.Equal(0.0, (double)m["retry"]!["successRate"]!, 4);
        // b1 is never a first step: no requests to fall back from, so no rate.
        Assert.Equal(0, (long)m["fallback"]!["requests"]!);
        Assert.Null(m["fallback"]!["rate"]);
        // One streak, 70s -> 80s.
        Assert.Equal(1, (long)m["recovery"]!["recovered"]!);
        Assert.Equal(10_000, (double)m["recovery"]!["meanTimeToRecoveryMs"]!, 0);
        // R5 has tokens but no price: cost is R2's alone.
        Assert.Equal(31, (long)m["inputTokens"]!);
        Assert.Equal(42, (long)m["outputTokens"]!);
        Assert.Equal(0.002m, (decimal)m["costUsd"]!);
    }

    [Fact]
    public async Task Each_model_of_a_provider_has_its_own_figures()
    {
        var (a, _) = await SeedScenarioAsync("models");

        var m = await MetricsFor("1h", a, "a2");

        Assert.Equal(1, (long)m["calls"]!);
        Assert.Equal(0.0, (double)m["errorRate"]!, 4);
        Assert.Empty(m["errorsByClass"]!.AsObject());
        Assert.Equal(50, (double)m["latencyMs"]!["p99"]!, 1);
        Assert.Null(m["retry"]!["successRate"]);
        Assert.Equal(1, (long)m["fallback"]!["requests"]!);
        Assert.Equal(0.0, (double)m["fallback"]!["rate"]!, 4);
        Assert.Null(m["recovery"]!["meanTimeToRecoveryMs"]);
        Assert.Equal(0.01m, (decimal)m["costUsd"]!);
    }

    [Fact]
    public async Task A_longer_window_takes_in_older_calls()
    {
        var (a, _) = await SeedScenarioAsync("window");

        Assert.Equal(7, (long)(await MetricsFor("60m", a, "a1"))["calls"]!);
        var day = await MetricsFor("24h", a, "a1");
        // R7's call two hours ago joins: 8 calls, and its tokens and cost.
        Assert.Equal(8, (long)day["calls"]!);
        Assert.Equal(115, (long)day["inputTokens"]!);
        Assert.Equal(1.0015m, (decimal)day["costUsd"]!);
        Assert.DoesNotContain((await fixture.Client.GetJsonAsync("/metrics/providers?window=15m"))["providers"]!.AsArray(),
            p => (string?)p!["provider"] == a);
    }

    [Fact]
    public async Task The_window_defaults_to_one_hour_and_reports_its_bounds()
    {
        var report = await fixture.Client.GetJsonAsync("/metrics/providers");

        Assert.Equal("1h", (string?)report["window"]);
        var since = DateTimeOffset.Parse((string)report["since"]!);
        var until = DateTimeOffset.Parse((string)report["until"]!);
        Assert.Equal(TimeSpan.FromHours(1), until - since);
    }

    [Theory]
    [InlineData("1w")]
    [InlineData("0h")]
    [InlineData("abc")]
    [InlineData("400d")]
    public async Task A_bad_window_is_refused_naming_window(string window)
    {
        var problem = await fixture.Client.GetJsonAsync($"/metrics/providers?window={window}", HttpStatusCode.BadRequest);

        Assert.Contains("15m", (string)problem["errors"]!["window"]![0]!);
    }
}
