using System.Buffers;
using System.Text.Json;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Worker.Contracts;

namespace Worker.Benchmarks.Harness;

/// <summary>
/// The load generator's side of RabbitMQ, in plain AMQP (faster than a bus, and it is what any producer can do):
/// publishes <c>CompletionRequested</c> in MassTransit's envelope and reads every result from a durable queue of its own
/// bound to the result exchanges, stamping each on arrival.
/// </summary>
public sealed class Broker : IAsyncDisposable
{
    public const string WorkerQueue = "completion-requests";
    public const string RequestExchange = "Worker.Contracts:CompletionRequested";
    public const string SucceededExchange = "Worker.Contracts:CompletionSucceeded";
    public const string FailedExchange = "Worker.Contracts:CompletionFailed";
    public const string ResultsQueue = "bench-results";
    public const string EchoQueue = "bench-echo";

    private readonly IConnection _publishConnection;
    private readonly IConnection _consumeConnection;
    private readonly IChannel _publish;
    private readonly IChannel _consume;
    private RequestLog? _current;

    private Broker(IConnection publishConnection, IConnection consumeConnection, IChannel publish, IChannel consume)
    {
        _publishConnection = publishConnection;
        _consumeConnection = consumeConnection;
        _publish = publish;
        _consume = consume;
    }

    /// <summary>Where arriving results are recorded: the running scenario's log.</summary>
    public RequestLog? Current
    {
        get => Volatile.Read(ref _current);
        set => Volatile.Write(ref _current, value);
    }

    /// <summary>False once the broker closed a connection (RabbitMQ restarted by someone else's fault test, say).</summary>
    public bool IsOpen => _publishConnection.IsOpen && _consumeConnection.IsOpen && _publish.IsOpen && _consume.IsOpen;

    public string ServerVersion =>
        _publishConnection.ServerProperties?.TryGetValue("version", out var v) == true && v is byte[] bytes ? System.Text.Encoding.UTF8.GetString(bytes) : "?";

    public static async Task<Broker> ConnectAsync(string uri, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory { Uri = new Uri(uri), ClientProvidedName = "worker-benchmarks" };
        var publishConnection = await factory.CreateConnectionAsync(cancellationToken);
        var consumeConnection = await factory.CreateConnectionAsync(cancellationToken);
        // Confirms tracked by the client: each publish completes when the broker has the message, many may be outstanding.
        var publish = await publishConnection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true,
                outstandingPublisherConfirmationsRateLimiter: new ThrottlingRateLimiter(4096)), cancellationToken);
        var consume = await consumeConnection.CreateChannelAsync(cancellationToken: cancellationToken);
        var broker = new Broker(publishConnection, consumeConnection, publish, consume);
        await broker.DeclareTopologyAsync(cancellationToken);
        await broker.ConsumeResultsAsync(cancellationToken);
        return broker;
    }

    /// <summary>
    /// The results queue, and the worker's request topology exactly as MassTransit declares it (message exchange, then
    /// an exchange named after the queue, then the queue), so a backlog can be published before the worker first starts.
    /// </summary>
    private async Task DeclareTopologyAsync(CancellationToken cancellationToken)
    {
        var ch = _consume;
        foreach (var exchange in new[] { SucceededExchange, FailedExchange, RequestExchange, WorkerQueue })
            await ch.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        foreach (var queue in new[] { ResultsQueue, WorkerQueue, EchoQueue })
        {
            // The worker's queue as the worker declares it by default (classic, Messaging:MaxPriority 9, an int): RabbitMQ
            // refuses to declare a queue again with other arguments.
            var arguments = queue == WorkerQueue ? new Dictionary<string, object?> { ["x-max-priority"] = RequestPriority.Highest } : null;
            await ch.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments, cancellationToken: cancellationToken);
        }
        await ch.QueueBindAsync(ResultsQueue, SucceededExchange, "", cancellationToken: cancellationToken);
        await ch.QueueBindAsync(ResultsQueue, FailedExchange, "", cancellationToken: cancellationToken);
        await ch.QueueBindAsync(WorkerQueue, WorkerQueue, "", cancellationToken: cancellationToken);
        await ch.ExchangeBindAsync(WorkerQueue, RequestExchange, "", cancellationToken: cancellationToken);
    }

    private async Task ConsumeResultsAsync(CancellationToken cancellationToken)
    {
        await _consume.BasicQosAsync(0, 2000, false, cancellationToken);
        var consumer = new AsyncEventingBasicConsumer(_consume);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            var at = Clock.Now;
            if (Current is { } log)
                log.Record(ReadResult(delivery.Body.Span, delivery.Exchange == SucceededExchange), at);
            return Task.CompletedTask;
        };
        await _consume.BasicConsumeAsync(ResultsQueue, autoAck: true, consumer, cancellationToken);
    }

    /// <summary>Publishes one request to the worker's exchange (or straight to <paramref name="queue"/>); completes on the broker's confirm.</summary>
    public Task PublishAsync(CompletionRequested request, string? queue = null, CancellationToken cancellationToken = default)
    {
        var body = EnvelopeBytes(request);
        var properties = new BasicProperties
        {
            ContentType = "application/vnd.masstransit+json",
            Persistent = true,
            MessageId = request.RequestId.ToString(),
            // What a raw AMQP producer sets so the priority queue orders the message: the body's priority.
            Priority = RequestPriority.Amqp(request),
        };
        return queue is null
            ? _publish.BasicPublishAsync(RequestExchange, "", mandatory: true, properties, body, cancellationToken).AsTask()
            : _publish.BasicPublishAsync("", queue, mandatory: true, properties, body, cancellationToken).AsTask();
    }

    public async Task PurgeAsync(string queue, CancellationToken cancellationToken) =>
        await _consume.QueuePurgeAsync(queue, cancellationToken);

    /// <summary>Messages ready in <paramref name="queue"/> and consumers attached to it.</summary>
    public async Task<(uint Messages, uint Consumers)> DepthAsync(string queue, CancellationToken cancellationToken)
    {
        var ok = await _consume.QueueDeclarePassiveAsync(queue, cancellationToken);
        return (ok.MessageCount, ok.ConsumerCount);
    }

    /// <summary>Waits until <paramref name="queue"/> holds <paramref name="count"/> messages (a published backlog is all there).</summary>
    public async Task WaitForDepthAsync(string queue, int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var until = Clock.Now + timeout.TotalSeconds;
        while ((await DepthAsync(queue, cancellationToken)).Messages < count)
        {
            if (Clock.Now > until)
                throw new TimeoutException($"{queue} holds {(await DepthAsync(queue, cancellationToken)).Messages} of {count} messages after {timeout.TotalSeconds:0} s");
            await Task.Delay(100, cancellationToken);
        }
    }

    public async Task WaitForConsumerAsync(string queue, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var until = Clock.Now + timeout.TotalSeconds;
        while ((await DepthAsync(queue, cancellationToken)).Consumers == 0)
        {
            if (Clock.Now > until)
                throw new TimeoutException($"nothing consumed {queue} within {timeout.TotalSeconds:0} s");
            await Task.Delay(100, cancellationToken);
        }
    }

    internal static byte[] EnvelopeBytes(CompletionRequested request)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("messageId", request.RequestId);
            json.WriteStartArray("messageType");
            json.WriteStringValue("urn:message:Worker.Contracts:CompletionRequested");
            json.WriteEndArray();
            json.WriteStartObject("message");
            json.WriteString("requestId", request.RequestId);
            json.WriteString("conversationId", request.ConversationId);
            json.WriteStartArray("messages");
            foreach (var message in request.Messages)
            {
                json.WriteStartObject();
                json.WriteString("role", message.Role);
                json.WriteString("content", message.Content);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (request.Chain is not null)
                json.WriteString("chain", request.Chain);
            if (request.MaxOutputTokens is { } maxOutputTokens)
                json.WriteNumber("maxOutputTokens", maxOutputTokens);
            if (request.Route is { } route)
                WriteRoute(json, route);
            json.WriteStartObject("metadata");
            foreach (var (key, value) in request.Metadata ?? new Dictionary<string, string>())
                json.WriteString(key, value);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The route hints a routing scenario sends (the fields it uses; the others stay at the worker's defaults).</summary>
    private static void WriteRoute(Utf8JsonWriter json, RouteHints route)
    {
        json.WriteStartObject("route");
        if (route.Complexity is not null)
            json.WriteString("complexity", route.Complexity);
        if (route.Quality is not null)
            json.WriteString("quality", route.Quality);
        json.WriteEndObject();
    }

    internal static ResultInfo ReadResult(ReadOnlySpan<byte> body, bool succeeded)
    {
        var reader = new Utf8JsonReader(body);
        using var document = JsonDocument.ParseValue(ref reader);
        var message = document.RootElement.GetProperty("message");
        var requestId = message.GetProperty("requestId").GetGuid();
        var attempts = message.TryGetProperty("attempts", out var a) ? a.GetInt32() : 0;
        var cost = message.TryGetProperty("costUsd", out var c) ? Decimal(c) : null;
        var model = message.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        return succeeded
            ? new ResultInfo(requestId, true, message.GetProperty("provider").GetString(), attempts, message.GetProperty("fallbackUsed").GetBoolean(), cost, model)
            : new ResultInfo(requestId, false, message.GetProperty("reason").GetString(), attempts, false, cost);
    }

    /// <summary>A decimal as MassTransit writes it: a JSON number, or a string (its serializer writes decimals as strings to keep their precision).</summary>
    private static decimal? Decimal(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => value.GetDecimal(),
        JsonValueKind.String => decimal.Parse(value.GetString()!, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture),
        _ => null,
    };

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in new[] { _publish, _consume })
        {
            try
            {
                await channel.CloseAsync();
            }
            catch (Exception e) when (IsConnectionLoss(e))
            {
                // The broker went away first.
            }
        }

        await _publishConnection.DisposeAsync();
        await _consumeConnection.DisposeAsync();
    }

    /// <summary>An error that says a connection to RabbitMQ or PostgreSQL was lost, not that the worker misbehaved.</summary>
    public static bool IsConnectionLoss(Exception e) => e switch
    {
        RabbitMQ.Client.Exceptions.AlreadyClosedException or RabbitMQ.Client.Exceptions.OperationInterruptedException
            or RabbitMQ.Client.Exceptions.BrokerUnreachableException or System.Net.Sockets.SocketException
            or Npgsql.NpgsqlException or IOException => true,
        AggregateException a => a.InnerExceptions.Any(IsConnectionLoss),
        _ => e.InnerException is { } inner && IsConnectionLoss(inner),
    };
}
