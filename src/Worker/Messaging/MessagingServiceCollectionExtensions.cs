using MassTransit;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Worker.Requests;

namespace Worker.Messaging;

public static class MessagingServiceCollectionExtensions
{
    /// <summary>
    /// MassTransit on RabbitMQ: durable request queue, persistent messages, publisher confirms, graceful stop; and the
    /// request queue's address for the features that send requests back to it (<see cref="IRequestQueue"/>); shedding of
    /// sheddable requests when the queue is behind (<see cref="LoadShedder"/>, sampled by <see cref="QueueDepthProbe"/>).
    /// </summary>
    public static IServiceCollection AddMessaging(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MessagingOptions>().BindConfiguration(MessagingOptions.Section).ValidateDataAnnotationsByKey(MessagingOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MessagingOptions>, MessagingOptionsValidator>());
        var broker = RabbitMqAddress.Parse(configuration.GetConnectionString("RabbitMq"));

        services.AddMassTransit(x =>
        {
            // 8.4.0 otherwise reports usage to a remote endpoint a few minutes after start.
            x.DisableUsageTelemetry();
            x.AddConsumer<CompletionRequestedConsumer, CompletionRequestedConsumerDefinition>();

            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(broker.Host, broker.Port, broker.VirtualHost, h =>
                {
                    h.Username(broker.Username);
                    h.Password(broker.Password);
                    // A publish completes only once the broker has it on disk (for durable queues).
                    h.PublisherConfirmation = true;
                    if (broker.UseTls)
                    {
                        h.UseSsl(s => s.Protocol = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13);
                    }
                });

                // MassTransit's meter ("MassTransit": receive, consume, send counts and durations); Telemetry exports it when on.
                cfg.UseInstrumentation();

                // Producers in other languages may publish plain JSON (content type application/json) instead of
                // MassTransit's envelope; both are accepted, the envelope stays the default for what we publish.
                cfg.UseRawJsonDeserializer(RawSerializerOptions.AnyMessageType, isDefault: false);
                // Requests sent back to the queue (deferral release, replay) keep their priority.
                cfg.ConfigureSend(send => send.UseExecute(RequestQueue.StampPriority));
                cfg.ConfigureEndpoints(context);
            });
        });

        services.AddOptions<MassTransitHostOptions>().Configure<IOptions<MessagingOptions>>((host, messaging) =>
        {
            host.WaitUntilStarted = false;
            // In-flight requests get StopTimeout to finish; after that their token is cancelled and, not being
            // acknowledged, the broker redelivers them to another instance or after restart.
            host.ConsumerStopTimeout = messaging.Value.StopTimeout;
            host.StopTimeout = messaging.Value.BusStopTimeout;
        });
        services.AddOptions<HostOptions>().Configure<IOptions<MessagingOptions>>((host, messaging) =>
        {
            try
            {
                host.ShutdownTimeout = messaging.Value.HostShutdownTimeout;
            }
            catch (OptionsValidationException)
            {
                // The host reads its options while it is built: bad Messaging values are reported with all the others
                // by the start-up validation that follows.
            }
        });
        services.AddOptions<SheddingOptions>().BindConfiguration(SheddingOptions.Section).ValidateDataAnnotationsByKey(SheddingOptions.Section).ValidateOnStart();
        services.AddSingleton<LoadShedder>();
        services.AddHostedService<QueueDepthProbe>();
        services.AddSingleton(broker);
        services.AddSingleton<IRequestQueue, ConfiguredRequestQueue>();
        return services;
    }
}
