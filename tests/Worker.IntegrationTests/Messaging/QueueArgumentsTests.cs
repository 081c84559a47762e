using Worker.IntegrationTests.Infrastructure;
using Worker.Messaging;

namespace Worker.IntegrationTests.Messaging;

/// <summary>
/// The start-up check against the real broker: a request queue an older build declared without priorities is refused
/// naming the queue and both ways out, and accepted once Messaging:MaxPriority says what the queue has.
/// </summary>
public sealed class QueueArgumentsTests : IAsyncLifetime
{
    private readonly string _queue = $"it-old-requests-{Guid.NewGuid():N}"[..24];
    private readonly RabbitMqAddress _broker = RabbitMqAddress.Parse(TestEnvironment.RabbitMq);

    public async Task InitializeAsync()
    {
        // As a build before priorities declared it: durable, classic, no arguments.
        await using var amqp = await RawAmqp.ConnectAsync();
        await amqp.PurgeAsync(_queue);
    }

    [Fact]
    public async Task A_queue_declared_before_priorities_stops_the_start_naming_the_queue_and_the_fix()
    {
        var failure = await Assert.ThrowsAsync<ConfigurationException>(() =>
            RequestQueue.EnsureArgumentsAsync(_broker, new MessagingOptions { QueueName = _queue }));

        Assert.StartsWith($"Messaging:QueueType is classic, but the queue '{_queue}' on ", failure.Message, StringComparison.Ordinal);
        Assert.Contains("x-max-priority", failure.Message, StringComparison.Ordinal);
        Assert.Contains("This worker declares it as a classic queue with x-max-priority 9 (Messaging:MaxPriority)", failure.Message, StringComparison.Ordinal);
        Assert.Contains("(env Messaging__MaxPriority) to what the queue has", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_max_priority_0_the_old_queue_is_accepted_as_it_is() =>
        Assert.True(await RequestQueue.EnsureArgumentsAsync(_broker, new MessagingOptions { QueueName = _queue, MaxPriority = 0 }));

    public async Task DisposeAsync()
    {
        await using var amqp = await RawAmqp.ConnectAsync();
        await amqp.DeleteAsync(_queue);
    }
}
