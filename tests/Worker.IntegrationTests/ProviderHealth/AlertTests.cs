using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;
using Worker.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Migrations;
using Worker.Persistence;
using Worker.ProviderHealth;
using Worker.Providers;
using static Worker.IntegrationTests.Ops.Rows;

namespace Worker.IntegrationTests.ProviderHealth;

/// <summary>
/// Each alert rule fires and resolves: rows are seeded under a provider of the test's own, the rules are evaluated at
/// instants of the test's choosing (T and later), and the alert row and the published ProviderAlertRaised /
/// ProviderAlertResolved (received on a queue bound to their exchanges) are checked.
/// </summary>
[Collection(HealthCollection.Name)]
public sealed class AlertTests(HealthFixture fixture)
{
    private static readonly DateTimeOffset T = new(2030, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(AlertRules.ProviderOffline)]
    [InlineData(AlertRules.ErrorRate)]
    [InlineData(AlertRules.Latency)]
    [InlineData(AlertRules.FallbackRate)]
    [InlineData(AlertRules.BreakerFlapping)]
    [InlineData(AlertRules.AuthFailed)]
    public async Task Rule_fires_and_resolves_when_its_condition_clears(string rule)
    {
        var pair = new ProviderModel($"al-{fixture.Run}-{rule}", "m1");
        await using var amqp = await RawAmqp.ConnectAsync();
        var messages = await amqp.SubscribeAsync("Worker.Contracts:ProviderAlertRaised", "Worker.Contracts:ProviderAlertResolved");
        var resolveAt = await SeedFiringAsync(rule, pair);

        var raised = await EvaluateAsync(pair, T);

        var alert = Assert.Single(raised.Raised);
        Assert.Equal((rule, pair.Provider, pair.Model, T), (alert.Rule, alert.Provider, alert.Model, alert.RaisedAt));
        Assert.Empty(raised.Resolved);
        var row = await AlertRowAsync(alert.Id);
        Assert.Equal((rule, T, (DateTimeOffset?)null), (row.Rule, row.RaisedAt, row.ResolvedAt));
        var published = await NextMessageAsync(messages, "ProviderAlertRaised", pair.Provider);
        Assert.Equal((alert.Id.ToString(), rule, "m1", alert.Detail), ((string?)published["alertId"], (string?)published["rule"], (string?)published["model"], (string?)published["detail"]));

        // Still firing a moment later: the open alert is kept, not raised again.
        var again = await EvaluateAsync(pair, T.AddSeconds(1));
        Assert.Empty(again.Raised);
        Assert.Empty(again.Resolved);

        await SeedClearingAsync(rule, pair);
        var cleared = await EvaluateAsync(pair, resolveAt);

        Assert.Equal(alert.Id, Assert.Single(cleared.Resolved).Id);
        Assert.Empty(cleared.Raised);
        Assert.Equal(resolveAt, (await AlertRowAsync(alert.Id)).ResolvedAt);
        var resolved = await NextMessageAsync(messages, "ProviderAlertResolved", pair.Provider);
        Assert.Equal((alert.Id.ToString(), rule), ((string?)resolved["alertId"], (string?)resolved["rule"]));
        Assert.Equal(T, (DateTimeOffset)resolved["raisedAt"]!);
        Assert.Equal(resolveAt, (DateTimeOffset)resolved["resolvedAt"]!);
    }

    /// <summary>Seeds what makes <paramref name="rule"/> (and only it) hold at T; returns when it no longer holds once cleared.</summary>
    private async Task<DateTimeOffset> SeedFiringAsync(string rule, ProviderModel pair)
    {
        var (p, m) = (pair.Provider, pair.Model);
        switch (rule)
        {
            case AlertRules.ProviderOffline:
                // Down since T-3m, more than the minute allowed.
                await SeedAsync(Ping(p, m, T.AddMinutes(-3), PingOutcome.Down, "server", 503),
                    Ping(p, m, T.AddSeconds(-150), PingOutcome.Down, "server", 503),
                    Ping(p, m, T.AddMinutes(-2), PingOutcome.Down, "server", 503));
                return T.AddSeconds(90);
            case AlertRules.ErrorRate:
                // 3 server errors in 10 calls: 30 % > 10 %.
                await SeedRequestsAsync(Enumerable.Range(0, 10).Select(i =>
                    Request(RequestStatus.Succeeded, T.AddMinutes(-4).AddSeconds(i * 10), T.AddMinutes(-4).AddSeconds(i * 10 + 1), p, m, false,
                        Call(0, p, m, 1, T.AddMinutes(-4).AddSeconds(i * 10), 100, i < 3 ? "server" : null))));
                return T.AddMinutes(10);
            case AlertRules.Latency:
                // Baseline p95 100 ms over 20 calls in the last day; the window's 10 calls take 1,000 ms: 10x > 5x.
                await SeedRequestsAsync(Enumerable.Range(0, 20).Select(i => Answered(p, m, T.AddHours(-20).AddMinutes(i * 30), 100))
                    .Concat(Enumerable.Range(0, 10).Select(i => Answered(p, m, T.AddMinutes(-4).AddSeconds(i * 10), 1_000))));
                return T.AddMinutes(10);
            case AlertRules.FallbackRate:
                // 2 of 10 requests started here skipped it (breaker open) and were answered by another provider: 20 % > 10 %.
                await SeedRequestsAsync(Enumerable.Range(0, 10).Select(i =>
                {
                    var at = T.AddMinutes(-4).AddSeconds(i * 10);
                    return i < 2
                        ? Request(RequestStatus.Succeeded, at, at.AddSeconds(1), p + "-fb", m, true,
                            Skipped(0, p, m, at, "skipped: breaker open"), Call(1, p + "-fb", m, 1, at, 100))
                        : Answered(p, m, at, 100);
                }));
                return T.AddMinutes(10);
            case AlertRules.BreakerFlapping:
                // Three openings on one instance within 10 minutes (two on another do not add up).
                await SeedAsync(Event(p, m, T.AddMinutes(-9), BreakerTransition.Opened, "it-x"), Event(p, m, T.AddMinutes(-8), BreakerTransition.Closed, "it-x"),
                    Event(p, m, T.AddMinutes(-6), BreakerTransition.Opened, "it-x"), Event(p, m, T.AddMinutes(-5), BreakerTransition.Closed, "it-x"),
                    Event(p, m, T.AddMinutes(-2), BreakerTransition.Isolated, "it-x"),
                    Event(p, m, T.AddMinutes(-7), BreakerTransition.Opened, "it-y"), Event(p, m, T.AddMinutes(-3), BreakerTransition.Opened, "it-y"));
                return T.AddMinutes(11);
            case AlertRules.AuthFailed:
                // One ping rejected with 401: not enough to call it offline, enough to say the key is wrong.
                await SeedAsync(Ping(p, m, T.AddMinutes(-1), PingOutcome.Down, "auth", 401));
                return T.AddSeconds(60);
            default:
                throw new ArgumentOutOfRangeException(nameof(rule), rule, null);
        }
    }

    /// <summary>What clears the rule besides time passing: a successful ping for the ping-based rules.</summary>
    private async Task SeedClearingAsync(string rule, ProviderModel pair)
    {
        if (rule == AlertRules.ProviderOffline)
            await SeedAsync(Ping(pair.Provider, pair.Model, T.AddMinutes(1), PingOutcome.Up, null, null));
        else if (rule == AlertRules.AuthFailed)
            await SeedAsync(Ping(pair.Provider, pair.Model, T.AddSeconds(30), PingOutcome.Up, null, null));
    }

    private async Task<AlertChanges> EvaluateAsync(ProviderModel pair, DateTimeOffset now)
    {
        using var scope = fixture.Worker.Services.CreateScope();
        return await scope.ServiceProvider.GetRequiredService<ProviderAlerts>().EvaluateAsync([pair], now, CancellationToken.None);
    }

    private static RequestRow Answered(string provider, string model, DateTimeOffset at, int latencyMs) =>
        Request(RequestStatus.Succeeded, at, at.AddMilliseconds(latencyMs), provider, model, false, Call(0, provider, model, 1, at, latencyMs));

    private static PingRow Ping(string provider, string model, DateTimeOffset at, string outcome, string? errorClass, int? status) => new()
    {
        Provider = provider, Model = model, Slot = 0, PingedAt = at, LatencyMs = 50, Outcome = outcome, ErrorClass = errorClass,
        HttpStatus = status, Instance = "it-seed",
    };

    private static BreakerEventRow Event(string provider, string model, DateTimeOffset at, string transition, string instance) =>
        new() { Provider = provider, Model = model, At = at, Transition = transition, Instance = instance };

    private async Task SeedAsync(params object[] rows)
    {
        await using var db = AuditMigrator.CreateContext(fixture.Database);
        db.AddRange(rows);
        await db.SaveChangesAsync();
    }

    private async Task SeedRequestsAsync(IEnumerable<RequestRow> requests)
    {
        await using var db = AuditMigrator.CreateContext(fixture.Database);
        db.Requests.AddRange(requests);
        await db.SaveChangesAsync();
    }

    private async Task<AlertRow> AlertRowAsync(Guid id)
    {
        await using var db = AuditMigrator.CreateContext(fixture.Database);
        return await db.Set<AlertRow>().FindAsync(id) ?? throw new InvalidOperationException($"no alert {id}");
    }

    /// <summary>The next message of <paramref name="type"/> about <paramref name="provider"/>, as its inner <c>message</c> object.</summary>
    private static async Task<JsonNode> NextMessageAsync(ChannelReader<(string Body, IReadOnlyBasicProperties Properties)> messages, string type, string provider)
    {
        using var timeout = new CancellationTokenSource(TestEnvironment.ResultTimeout);
        while (true)
        {
            var (body, _) = await messages.ReadAsync(timeout.Token);
            var envelope = JsonNode.Parse(body)!;
            var message = envelope["message"]!;
            if (envelope["messageType"]!.AsArray().Any(t => (string?)t == $"urn:message:Worker.Contracts:{type}") && (string?)message["provider"] == provider)
                return message;
        }
    }
}
