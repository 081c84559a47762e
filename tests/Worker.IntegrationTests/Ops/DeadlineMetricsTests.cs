using System.Net;
using Worker.Chain;
using Worker.Contracts;
using Worker.Persistence;
using static Worker.IntegrationTests.Ops.Rows;

namespace Worker.IntegrationTests.Ops;

/// <summary>GET /metrics/deadlines over seeded rows: which requests count as deadline rejections, and under which reason.</summary>
[Collection(OpsCollection.Name)]
public sealed class DeadlineMetricsTests(OpsFixture fixture)
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    private static RequestRow Deadline(string tenant, string status, DateTimeOffset receivedAt, params AttemptRow[] attempts)
    {
        var row = Request(status, receivedAt, receivedAt.AddSeconds(1), attempts: attempts);
        row.FailureReason = FailureReasons.DeadlineExceeded;
        row.Tenant = tenant;
        row.Chain = "fast";
        return row;
    }

    [Fact]
    public async Task Requests_failed_for_their_deadline_without_a_call_are_counted_by_chain_tenant_and_reason()
    {
        var tenant = $"ops-{fixture.Run}-deadlines";
        var other = Request(RequestStatus.Failed, Now.AddMinutes(-5), Now.AddMinutes(-5));
        other.FailureReason = FailureReasons.ProvidersExhausted;
        other.Tenant = tenant;
        await fixture.SeedAsync(
            // Expired when dequeued: no attempt row at all. Failed, and parked (deadline_exceeded can be a park reason).
            Deadline(tenant, RequestStatus.Failed, Now.AddMinutes(-10)),
            Deadline(tenant, RequestStatus.Parked, Now.AddMinutes(-9)),
            // Every step skipped for lack of time: too_little_time.
            Deadline(tenant, RequestStatus.Failed, Now.AddMinutes(-8), Skipped(0, "gemini", "gemini-2.5-flash", Now.AddMinutes(-8), ChainRunner.DeadlineSkip)),
            // A call was made: the deadline passed during the chain, not a rejection.
            Deadline(tenant, RequestStatus.Failed, Now.AddMinutes(-7), Call(0, "gemini", "gemini-2.5-flash", 1, Now.AddMinutes(-7), 100, "timeout", "gave_up")),
            // Not a deadline failure; and a rejection from before the window.
            other,
            Deadline(tenant, RequestStatus.Failed, Now.AddHours(-2)));

        var report = await fixture.Client.GetJsonAsync("/metrics/deadlines?window=1h");
        var mine = report["groups"]!.AsArray().Where(g => (string?)g!["tenant"] == tenant)
            .Select(g => ((string)g!["chain"]!, (string)g["reason"]!, (long)g["requests"]!)).OrderBy(g => g.Item2).ToList();

        Assert.Equal([("fast", "expired", 2L), ("fast", "too_little_time", 1L)], mine);
        Assert.True((long)report["total"]! >= 3);
        Assert.Equal("1h", (string)report["window"]!);

        var day = await fixture.Client.GetJsonAsync("/metrics/deadlines?window=24h");
        Assert.Contains(day["groups"]!.AsArray(), g => (string?)g!["tenant"] == tenant && (string)g["reason"]! == "expired" && (long)g["requests"]! == 3);
    }

    [Fact]
    public async Task A_bad_window_is_refused_naming_the_parameter()
    {
        var problem = await fixture.Client.GetJsonAsync("/metrics/deadlines?window=soon", HttpStatusCode.BadRequest);

        Assert.NotNull(problem["errors"]!["window"]);
    }
}
