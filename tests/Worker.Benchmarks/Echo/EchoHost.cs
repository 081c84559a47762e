using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Worker.Contracts;

namespace Worker.Benchmarks.Echo;

/// <summary>
/// The bare baseline of the drain scenario: a MassTransit consumer of <c>CompletionRequested</c> that publishes a
/// <c>CompletionSucceeded</c> at once. Same bus settings as the worker (publisher confirms, mandatory result publish,
/// the raw-JSON deserializer, concurrency and prefetch) and nothing else: no chain, no provider call, no audit.
/// Runs as its own process (<c>Worker.Benchmarks.dll echo</c>), configured like the worker through the environment.
/// </summary>
public static class EchoHost
{
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var rabbit = new Uri(builder.Configuration.GetConnectionString("RabbitMq") ?? throw new InvalidOperationException("ConnectionStrings__RabbitMq is required"));
        var queue = builder.Configuration["Echo:Queue"] ?? "bench-echo";
        var concurrency = builder.Configuration.GetValue("Echo:ConcurrencyLimit", 64);
        var prefetch = builder.Configuration.GetValue("Echo:PrefetchCount", 64);
        var user = rabbit.UserInfo.Split(':', 2);

        builder.Services.AddMassTransit(x =>
        {
            x.DisableUsageTelemetry();
            x.AddConsumer<EchoConsumer>();
            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(rabbit.Host, (ushort)(rabbit.Port > 0 ? rabbit.Port : 5672), Uri.UnescapeDataString(rabbit.AbsolutePath.TrimStart('/')), h =>
                {
                    h.Username(Uri.UnescapeDataString(user[0]));
                    h.Password(user.Length > 1 ? Uri.UnescapeDataString(user[1]) : "");
                    h.PublisherConfirmation = true;
                });
                cfg.UseRawJsonDeserializer(RawSerializerOptions.AnyMessageType, isDefault: false);
                cfg.ReceiveEndpoint(queue, e =>
                {
                    // Only what the benchmark sends straight to this queue: not bound to the request exchange.
                    e.ConfigureConsumeTopology = false;
                    e.PrefetchCount = prefetch;
                    e.ConcurrentMessageLimit = concurrency;
                    e.ConfigureConsumer<EchoConsumer>(context);
                });
            });
        });

        await builder.Build().RunAsync();
        return 0;
    }
}

/// <summary>Answers every request with a canned success, published the way the worker publishes results.</summary>
public sealed class EchoConsumer : IConsumer<CompletionRequested>
{
    public Task Consume(ConsumeContext<CompletionRequested> context)
    {
        var request = context.Message;
        var result = new CompletionSucceeded(request.RequestId, request.ConversationId, "echo", "echo", "echo", FallbackUsed: false, Attempts: 0,
            InputTokens: null, OutputTokens: null, request.Metadata, DateTimeOffset.UtcNow);
        return context.Publish(result, publish => publish.Mandatory = true, context.CancellationToken);
    }
}
