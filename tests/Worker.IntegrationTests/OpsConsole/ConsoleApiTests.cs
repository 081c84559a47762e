using Worker.Chain;
using Worker.Audit;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.DependencyInjection;
using System.Net;
using System.Text.Json.Nodes;
using Npgsql;
using Worker.IntegrationTests.Ops;
using Worker.Persistence;
using static Worker.IntegrationTests.Ops.Rows;

namespace Worker.IntegrationTests.OpsConsole;

/// <summary>
/// GET /status and GET /metrics/series against rows seeded into the audit tables (under this run's own provider names),
/// and the console page served without a token while its data is not.
/// </summary>
[Collection(OpsCollection.Name)]
public sealed class ConsoleApiTests(OpsFixture fixture) : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());

    private readonly List<string> _breakerProviders = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await using var command = fixture.Database.CreateCommand("DELETE FROM breaker_events WHERE provider = ANY($1)");
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. _breakerProviders] });
        await command.ExecuteNonQueryAsync();
    }

    private static JsonNode Kpi(JsonNode status, string name) => Assert.Single(status["kpis"]!.AsArray(), k => (string?)k!["name"] == name)!;

    [Fact]
    public async Task Status_kpis_match_the_audit_rows_of_the_window()
    {
        var a = $"con-{fixture.Run}-kpi-a";
        var b = $"con-{fixture.Run}-kpi-b";
        var t = Now.AddMinutes(-20);
        await fixture.SeedAsync(
            Request(RequestStatus.Succeeded, t, t.AddSeconds(2), a, "a1", false, Call(0, a, "a1", 1, t.AddSeconds(1), 900, costUsd: 0.25m)),
            Request(RequestStatus.Succeeded, t, t.AddSeconds(30), b, "b1", true,
                Call(0, a, "a1", 1, t.AddSeconds(1), 5000, "server", "fell_back"), Call(1, b, "b1", 1, t.AddSeconds(20), 800, costUsd: 0.5m)),
            Request(RequestStatus.Parked, t, t.AddSeconds(60), null, null, false, Call(0, a, "a1", 1, t.AddSeconds(1), 100, "server", "gave_up")),
            Request(RequestStatus.Failed, t, t.AddSeconds(1), null, null, false),
            // Still running: no outcome yet, not counted.
            Request(RequestStatus.InProgress, t, null, null, null, false),
            // Two hours ago: outside 1h.
            Request(RequestStatus.Parked, Now.AddHours(-2), Now.AddHours(-2).AddSeconds(5), null, null, false));
        // Outages: a1's breaker opens, fails a trial and opens again, closes 40 s after the first opening; b1 is isolated 20 s.
        await SeedBreakerEventsAsync(
            (a, "a1", "opened", t), (a, "a1", "opened", t.AddSeconds(10)), (a, "a1", "closed", t.AddSeconds(40)),
            (b, "b1", "isolated", t.AddSeconds(100)), (b, "b1", "closed", t.AddSeconds(120)),
            // Still open: no recovery to count yet.
            (b, "b1", "opened", t.AddSeconds(200)));

        var status = await fixture.Client.GetJsonAsync("/status?window=1h");

        Assert.Equal("1h", (string?)status["window"]);
        var since = DateTimeOffset.Parse((string)status["since"]!);
        var until = DateTimeOffset.Parse((string)status["until"]!);
        Assert.Equal(TimeSpan.FromHours(1), until - since);
        var expected = await ExpectedAsync(since, until);
        // The seeded rows are in there: the figures are not the empty window's.
        Assert.True(expected.Finished >= 4 && expected.Recoveries.Count >= 2, $"{expected.Finished} finished, {expected.Recoveries.Count} recoveries");

        var availability = Kpi(status, "availability");
        Assert.Equal((double)expected.Succeeded / expected.Finished, (double)availability["value"]!, 6);
        Assert.Equal(("ratio", 0.999), ((string?)availability["unit"], (double)availability["target"]!));
        Assert.Contains((string?)availability["state"], new[] { "green", "amber", "red" });
        Assert.Equal((double)expected.FellBack / expected.Succeeded, (double)Kpi(status, "fallback_rate")["value"]!, 6);
        Assert.Equal(expected.Recoveries.Average(), (double)Kpi(status, "mttr")["value"]!, 3);
        Assert.Equal(Percentile95(expected.SucceededSeconds), (double)Kpi(status, "p95")["value"]!, 3);
        Assert.Equal((double)expected.Cost, (double)Kpi(status, "cost")["value"]!, 6);
        // Routed requests' billed tokens at the default chain's first model's price, minus what they cost; none routed: no figure.
        var saved = Kpi(status, "cost_saved");
        Assert.Equal("none", (string?)saved["state"]);
        Assert.Equal(await ExpectedSavingAsync(since, until), (double?)saved["value"]);
        Assert.All(status["kpis"]!.AsArray(), k => Assert.False(string.IsNullOrEmpty((string?)k!["definition"])));
        Assert.NotNull(status["recommendations"]!.AsArray());
        Assert.NotNull(status["providers"]!.AsArray());
    }

    [Fact]
    public async Task A_provider_slower_than_its_week_is_recommended_against_at_status()
    {
        var p = $"con-{fixture.Run}-drift";
        var week = Enumerable.Range(0, 100).Select(i => Call(0, p, "m", 1, Now.AddHours(-3).AddMinutes(-i * 10), 1000)).ToArray();
        var hour = Enumerable.Range(0, 20).Select(i => Call(0, p, "m", 1, Now.AddMinutes(-50).AddSeconds(i), 2000)).ToArray();
        await fixture.SeedAsync(
            Request(RequestStatus.Succeeded, Now.AddDays(-2), Now.AddDays(-2).AddSeconds(1), p, "m", false, week),
            Request(RequestStatus.Succeeded, Now.AddMinutes(-51), Now.AddMinutes(-40), p, "m", false, hour));

        var status = await fixture.Client.GetJsonAsync("/status");

        var drift = Assert.Single(status["recommendations"]!.AsArray(), r => (string?)r!["subject"] == $"{p}/m")!;
        Assert.Equal("warning", (string?)drift["severity"]);
        Assert.StartsWith($"{p}/m p95 latency over the last hour is 2000 ms, 2.0x its 7-day p95 of 1000 ms (20 calls)", (string?)drift["text"]);
    }

    [Fact]
    public async Task Series_cut_the_window_into_buckets_per_provider_and_model()
    {
        var a = $"con-{fixture.Run}-series-a";
        var b = $"con-{fixture.Run}-series-b";
        var minute = MinuteOf(Now.AddMinutes(-10));
        var later = MinuteOf(Now.AddMinutes(-5));
        await fixture.SeedAsync(
            // A fails once and falls back to B in the same minute; A answers alone five minutes later.
            Request(RequestStatus.Succeeded, minute, minute.AddSeconds(5), b, "b1", true,
                Call(0, a, "a1", 1, minute.AddSeconds(1), 100, "server", "fell_back"), Call(1, b, "b1", 1, minute.AddSeconds(2), 300)),
            Request(RequestStatus.Succeeded, later, later.AddSeconds(5), a, "a1", false, Call(0, a, "a1", 1, later.AddSeconds(1), 300)),
            // Eight hours ago: in 24h and 7d, not in 1h.
            Request(RequestStatus.Succeeded, Now.AddHours(-8), Now.AddHours(-8).AddSeconds(1), a, "a1", false, Call(0, a, "a1", 1, Now.AddHours(-8), 50)));

        var hour = await fixture.Client.GetJsonAsync("/metrics/series?window=1h");

        Assert.Equal(("1h", 60), ((string?)hour["window"], (int)hour["bucketSeconds"]!));
        var since = DateTimeOffset.Parse((string)hour["since"]!);
        var until = DateTimeOffset.Parse((string)hour["until"]!);
        var pointsA = Points(hour, a, "a1");
        // Every minute of the window is there, from the one holding `since` to the one holding `until`, quiet ones as zero.
        Assert.Equal(MinuteOf(since), pointsA.First().At);
        Assert.Equal(MinuteOf(until.AddTicks(-1)), pointsA.Last().At);
        Assert.Equal((int)((MinuteOf(until.AddTicks(-1)) - MinuteOf(since)).TotalMinutes) + 1, pointsA.Count);
        Assert.Equal(2, pointsA.Sum(pt => pt.Calls));

        var first = pointsA.Single(pt => pt.At == minute).Node;
        Assert.Equal((1, 1, 1.0), ((long)first["calls"]!, (long)first["errors"]!, (double)first["errorRate"]!));
        Assert.Equal(1, (long)first["errorsByClass"]!["server"]!);
        Assert.Equal(100, (double)first["p95Ms"]!);
        Assert.Equal((1, 1.0), ((long)first["requests"]!, (double)first["fallbackRate"]!));
        var second = pointsA.Single(pt => pt.At == later).Node;
        Assert.Equal((1, 0, 300.0), ((long)second["calls"]!, (long)second["errors"]!, (double)second["p95Ms"]!));
        Assert.Equal(0.0, (double)second["fallbackRate"]!);
        var quiet = pointsA.First(pt => pt.Calls == 0).Node;
        Assert.Null(quiet["errorRate"]);
        Assert.Null(quiet["p95Ms"]);
        Assert.Equal(1, Points(hour, b, "b1").Sum(pt => pt.Calls));

        var day = await fixture.Client.GetJsonAsync("/metrics/series?window=24h");
        Assert.Equal(900, (int)day["bucketSeconds"]!);
        Assert.Equal(3, Points(day, a, "a1").Sum(pt => pt.Calls));
        Assert.All(Points(day, a, "a1"), pt => Assert.Equal(0, pt.At.ToUnixTimeSeconds() % 900));

        var week = await fixture.Client.GetJsonAsync("/metrics/series?window=7d");
        Assert.Equal(7200, (int)week["bucketSeconds"]!);
        Assert.InRange(Points(week, a, "a1").Count, 84, 85);
        Assert.Equal(3, Points(week, a, "a1").Sum(pt => pt.Calls));
    }

    [Theory]
    [InlineData("/status")]
    [InlineData("/status?window=24h")]
    [InlineData("/metrics/series")]
    public async Task Without_a_token_status_and_series_are_401(string route)
    {
        using var response = await fixture.Anonymous.GetAsync(route);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
    }

    [Theory]
    [InlineData("/status?window=2h")]
    [InlineData("/status?window=15m")]
    [InlineData("/metrics/series?window=1d")]
    public async Task A_window_other_than_1h_24h_7d_is_400_naming_the_parameter(string route)
    {
        var problem = await fixture.Client.GetJsonAsync(route, HttpStatusCode.BadRequest);

        Assert.Equal("must be one of 1h, 24h, 7d.", (string?)problem["errors"]!["window"]![0]);
    }

    [Fact]
    public async Task The_console_page_is_served_without_a_token()
    {
        using var page = await fixture.Anonymous.GetAsync("/console/");
        var html = await page.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("id=\"token\"", html, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);

        using var script = await fixture.Anonymous.GetAsync("/console/console.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        using var chart = await fixture.Anonymous.GetAsync("/console/lib/uPlot.esm.js");
        Assert.Equal(HttpStatusCode.OK, chart.StatusCode);
    }

    [Fact]
    public async Task The_console_without_its_slash_redirects_to_it()
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = fixture.Anonymous.BaseAddress };

        using var response = await client.GetAsync("/console");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/console/", response.Headers.Location?.OriginalString);
    }

    private static DateTimeOffset MinuteOf(DateTimeOffset t) => DateTimeOffset.FromUnixTimeSeconds(t.ToUnixTimeSeconds() / 60 * 60);

    private static List<(DateTimeOffset At, long Calls, JsonNode Node)> Points(JsonNode report, string provider, string model) =>
        [.. Assert.Single(report["providers"]!.AsArray(), p => (string?)p!["provider"] == provider && (string?)p["model"] == model)!["points"]!.AsArray()
            .Select(pt => (DateTimeOffset.Parse((string)pt!["at"]!), (long)pt["calls"]!, pt))];

    private async Task SeedBreakerEventsAsync(params (string Provider, string Model, string Transition, DateTimeOffset At)[] events)
    {
        _breakerProviders.AddRange(events.Select(e => e.Provider).Distinct());
        await using var command = fixture.Database.CreateCommand(
            "INSERT INTO breaker_events (provider, model, transition, at, instance) SELECT p, m, t, a, 'console-test' FROM unnest($1, $2, $3, $4) AS e(p, m, t, a)");
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. events.Select(e => e.Provider)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. events.Select(e => e.Model)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. events.Select(e => e.Transition)] });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. events.Select(e => e.At.ToUniversalTime())] });
        await command.ExecuteNonQueryAsync();
    }

    private sealed record Expected(long Finished, long Succeeded, long FellBack, List<double> SucceededSeconds, decimal Cost, List<double> Recoveries);

    /// <summary>The KPI figures worked out in C# from every row of the window, as a check on the SQL.</summary>
    private async Task<double?> ExpectedSavingAsync(DateTimeOffset since, DateTimeOffset until)
    {
        var services = fixture.Worker.Services;
        Assert.True(services.GetRequiredService<ChainCatalog>().TryGet(null, out var steps));
        var price = services.GetRequiredService<IOptions<PricingOptions>>().Value[steps[0].Model];
        await using var command = fixture.Database.CreateCommand("""
            SELECT count(*), coalesce(sum(input_tokens::bigint), 0), coalesce(sum(output_tokens::bigint), 0), coalesce(sum(estimated_cost_usd), 0)
            FROM requests
            WHERE status = 'succeeded' AND route->>'tier' NOT LIKE 'chain:%' AND received_at >= $1 AND received_at < $2
            """);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = since.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = until.ToUniversalTime() });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        if (reader.GetInt64(0) == 0)
            return null;
        var atBaseline = reader.GetInt64(1) * price.InputPerMillion / 1_000_000m + reader.GetInt64(2) * price.OutputPerMillion / 1_000_000m;
        return (double)Math.Round(atBaseline - reader.GetDecimal(3), 6);
    }

    private async Task<Expected> ExpectedAsync(DateTimeOffset since, DateTimeOffset until)
    {
        long finished = 0, succeeded = 0, fellBack = 0;
        var seconds = new List<double>();
        await using (var command = fixture.Database.CreateCommand(
            "SELECT status, fallback_used, received_at, completed_at FROM requests WHERE received_at >= $1 AND received_at < $2"))
        {
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = since.ToUniversalTime() });
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = until.ToUniversalTime() });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var status = reader.GetString(0);
                if (status is not (RequestStatus.Succeeded or RequestStatus.Failed or RequestStatus.Parked))
                    continue;
                finished++;
                if (status != RequestStatus.Succeeded)
                    continue;
                succeeded++;
                fellBack += reader.GetBoolean(1) ? 1 : 0;
                if (!reader.IsDBNull(3))
                    seconds.Add((reader.GetFieldValue<DateTimeOffset>(3) - reader.GetFieldValue<DateTimeOffset>(2)).TotalSeconds);
            }
        }

        decimal cost = 0;
        await using (var command = fixture.Database.CreateCommand("SELECT cost_usd FROM attempts WHERE started_at >= $1 AND started_at < $2"))
        {
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = since.ToUniversalTime() });
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = until.ToUniversalTime() });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                cost += reader.IsDBNull(0) ? 0 : reader.GetDecimal(0);
        }

        // Per breaker, an outage starts at its first opening after the last closing, and ends at the next closing.
        var recoveries = new List<double>();
        await using (var command = fixture.Database.CreateCommand("SELECT provider, model, instance, transition, at FROM breaker_events WHERE at < $1 ORDER BY at, id"))
        {
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = until.ToUniversalTime() });
            await using var reader = await command.ExecuteReaderAsync();
            var openedAt = new Dictionary<(string, string, string), DateTimeOffset>();
            while (await reader.ReadAsync())
            {
                var key = (reader.GetString(0), reader.GetString(1), reader.GetString(2));
                var at = reader.GetFieldValue<DateTimeOffset>(4);
                switch (reader.GetString(3))
                {
                    case "opened" or "isolated":
                        openedAt.TryAdd(key, at);
                        break;
                    case "closed":
                        if (openedAt.Remove(key, out var start) && at >= since)
                            recoveries.Add((at - start).TotalSeconds);
                        break;
                }
            }
        }

        return new Expected(finished, succeeded, fellBack, seconds, cost, recoveries);
    }

    /// <summary>percentile_cont(0.95): linear between the two nearest ranks.</summary>
    private static double Percentile95(List<double> values)
    {
        var sorted = values.Order().ToList();
        var rank = 0.95 * (sorted.Count - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sorted[low] + ((sorted[high] - sorted[low]) * (rank - low));
    }
}
