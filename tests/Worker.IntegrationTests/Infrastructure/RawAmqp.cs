using System.Text;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Worker.IntegrationTests.Infrastructure;

/// <summary>
/// A producer that knows nothing of MassTransit or our assemblies: plain AMQP and JSON, as a backend written in
/// another language would be.
/// </summary>
public sealed class RawAmqp : IAsyncDisposable
{
    private readonly IConnection _connection;
    private readonly IChannel _channel;

    private RawAmqp(IConnection connection, IChannel channel)
    {
        _connection = connection;
        _channel = channel;
    }

    public static async Task<RawAmqp> ConnectAsync()
    {
        var connection = await new ConnectionFactory { Uri = new Uri(TestEnvironment.RabbitMq) }.CreateConnectionAsync();
        return new RawAmqp(connection, await connection.CreateChannelAsync());
    }

    public async Task PublishAsync(string exchange, string routingKey, string body, string contentType, IDictionary<string, object?>? headers = null)
    {
        var properties = new BasicProperties { ContentType = contentType, Persistent = true, MessageId = Guid.NewGuid().ToString(), Headers = headers };
        await _channel.BasicPublishAsync(exchange, routingKey, mandatory: true, properties, Encoding.UTF8.GetBytes(body));
    }

    /// <summary>Publishes <paramref name="body"/> byte for byte with exactly <paramref name="properties"/>.</summary>
    public async Task PublishBytesAsync(string exchange, string routingKey, byte[] body, BasicProperties properties) =>
        await _channel.BasicPublishAsync(exchange, routingKey, mandatory: true, properties, body);

    /// <summary>Messages ready in <paramref name="queue"/> (not those delivered and awaiting an acknowledgement).</summary>
    public async Task<uint> ReadyCountAsync(string queue) => await _channel.MessageCountAsync(queue);

    /// <summary>Deletes a queue and whatever it still holds.</summary>
    public async Task DeleteAsync(string queue) => await _channel.QueueDeleteAsync(queue);

    /// <summary>
    /// Deletes a worker's request queue with its <c>_error</c> and <c>_skipped</c> queues, and any <paramref name="others"/>:
    /// left bound to the request exchange, a test's own queue would collect every request later tests publish.
    /// </summary>
    public static async Task DeleteRequestQueuesAsync(string requestQueue, params string[] others)
    {
        await using var amqp = await ConnectAsync();
        foreach (var queue in new[] { requestQueue, requestQueue + "_error", requestQueue + "_skipped" }.Concat(others))
            await amqp.DeleteAsync(queue);
    }

    /// <summary>Declares a queue of our own bound to <paramref name="exchanges"/> and returns every body it receives.</summary>
    public async Task<System.Threading.Channels.ChannelReader<(string Body, IReadOnlyBasicProperties Properties)>> SubscribeAsync(params string[] exchanges)
    {
        var queue = (await _channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        foreach (var exchange in exchanges)
        {
            // Same arguments as MassTransit declares: durable fanout.
            await _channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true, autoDelete: false);
            await _channel.QueueBindAsync(queue, exchange, "");
        }

        var received = System.Threading.Channels.Channel.CreateUnbounded<(string, IReadOnlyBasicProperties)>();
        var consumer = new AsyncEventingBasicConsumer(_channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            received.Writer.TryWrite((Encoding.UTF8.GetString(delivery.Body.Span), delivery.BasicProperties));
            return Task.CompletedTask;
        };
        await _channel.BasicConsumeAsync(queue, autoAck: true, consumer);
        return received.Reader;
    }

    /// <summary>Takes one message from <paramref name="queue"/>, waiting up to the result timeout for it.</summary>
    public async Task<BasicGetResult> GetAsync(string queue) =>
        (await Eventually.ValueAsync(() => _channel.BasicGetAsync(queue, autoAck: true), message => message is not null,
            TestEnvironment.ResultTimeout, $"a message on queue {queue}"))!;

    /// <summary>
    /// Empties a durable queue, declaring it first (as MassTransit does: durable, with <paramref name="arguments"/>, e.g. the
    /// request queue's <see cref="Worker.Messaging.RequestQueue.Arguments"/>) if it does not exist yet.
    /// </summary>
    public async Task PurgeAsync(string queue, IDictionary<string, object?>? arguments = null)
    {
        await _channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments);
        await _channel.QueuePurgeAsync(queue);
    }

    public async ValueTask DisposeAsync()
    {
        await _channel.CloseAsync();
        await _connection.CloseAsync();
    }
}
