using System.Diagnostics;
using Worker.Telemetry;

namespace Worker.Tests.Telemetry;

/// <summary>The span around a stored request sent again: a deferral continues the stored trace, a replay links to it.</summary>
public sealed class ResendSpanTests : IDisposable
{
    private const string Stored = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    private readonly ActivityListener _listener = new()
    {
        ShouldListenTo = source => source.Name == WorkerActivity.Name,
        Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
    };

    public ResendSpanTests() => ActivitySource.AddActivityListener(_listener);

    public void Dispose() => _listener.Dispose();

    [Fact]
    public void A_deferral_release_continues_the_stored_trace_under_the_stored_span()
    {
        var id = Guid.NewGuid();

        using var span = WorkerActivity.StartResend("worker.deferral.release", Stored, link: false, id);

        Assert.NotNull(span);
        Assert.Equal(ActivityKind.Producer, span.Kind);
        Assert.Equal("4bf92f3577b34da6a3ce929d0e0e4736", span.TraceId.ToHexString());
        Assert.Equal("00f067aa0ba902b7", span.ParentSpanId.ToHexString());
        Assert.Empty(span.Links);
        Assert.Equal(id.ToString(), span.GetTagItem("worker.request_id"));
    }

    [Fact]
    public void A_replay_starts_a_trace_of_its_own_linked_to_the_stored_one()
    {
        using var span = WorkerActivity.StartResend("worker.replay", Stored, link: true, Guid.NewGuid());

        Assert.NotNull(span);
        Assert.NotEqual("4bf92f3577b34da6a3ce929d0e0e4736", span.TraceId.ToHexString());
        var link = Assert.Single(span.Links);
        Assert.Equal(("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"), (link.Context.TraceId.ToHexString(), link.Context.SpanId.ToHexString()));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not a traceparent")]
    public void Without_a_stored_trace_the_send_starts_a_new_one(string? stored)
    {
        using var span = WorkerActivity.StartResend("worker.deferral.release", stored, link: false, Guid.NewGuid());

        Assert.NotNull(span);
        Assert.Equal(default, span.ParentSpanId);
        Assert.Empty(span.Links);
    }
}
