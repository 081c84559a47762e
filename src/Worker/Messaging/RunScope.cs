namespace Worker.Messaging;

/// <summary>
/// The token a request's run lives under: cancelled at shutdown after Messaging:StopTimeout, but not when only the
/// broker connection drops (the run goes on, its outcome is stored, and the redelivery publishes it instead of paying
/// again). See <see cref="CompletionRequestedConsumer"/>.
/// </summary>
internal sealed class RunScope : IDisposable
{
    private readonly CancellationTokenSource _run = new();
    private readonly CancellationTokenRegistration _onConsumeCancelled;
    private readonly CancellationTokenRegistration _onStopping;

    public RunScope(CancellationToken consume, CancellationToken stopping, TimeSpan stopTimeout)
    {
        _onConsumeCancelled = consume.Register(() =>
        {
            if (stopping.IsCancellationRequested)
                _run.Cancel();
        });
        _onStopping = stopping.Register(() =>
        {
            if (consume.IsCancellationRequested)
                _run.CancelAfter(stopTimeout);
        });
    }

    public CancellationToken Token => _run.Token;

    public void Dispose()
    {
        // The host's stopping token lives as long as the process: each message's registration must go with it.
        _onConsumeCancelled.Dispose();
        _onStopping.Dispose();
        _run.Dispose();
    }
}
