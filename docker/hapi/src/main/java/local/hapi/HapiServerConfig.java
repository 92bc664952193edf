package local.hapi;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.cache.IResourceTypeCacheSvc;
import ca.uhn.fhir.jpa.config.util.ResourceTypeUtil;
import ca.uhn.fhir.jpa.interceptor.UserRequestRetryVersionConflictsInterceptor;
import ca.uhn.fhir.jpa.config.util.HapiEntityManagerFactoryUtil;
import ca.uhn.fhir.jpa.model.config.PartitionSettings;
import ca.uhn.fhir.jpa.model.config.SubscriptionSettings;
import ca.uhn.fhir.jpa.model.dialect.HapiFhirH2Dialect;
import ca.uhn.fhir.jpa.model.dialect.HapiFhirPostgresDialect;
import ca.uhn.fhir.jpa.provider.JpaCapabilityStatementProvider;
import ca.uhn.fhir.jpa.subscription.match.deliver.email.IEmailSender;
import ca.uhn.fhir.jpa.provider.JpaSystemProvider;
import ca.uhn.fhir.jpa.provider.ValueSetOperationProvider;
import ca.uhn.fhir.jpa.search.DatabaseBackedPagingProvider;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.provider.ResourceProviderFactory;
import ca.uhn.fhir.rest.server.util.ISearchParamRegistry;
import jakarta.persistence.EntityManagerFactory;
import org.h2.engine.SessionLocal;
import org.h2.jdbc.JdbcConnection;
import org.h2.mvstore.MVStore;
import org.hl7.fhir.dstu2.model.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Primary;
import org.springframework.core.env.Environment;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.orm.jpa.LocalContainerEntityManagerFactoryBean;

import javax.sql.DataSource;
import java.sql.Connection;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

@Configuration
public class HapiServerConfig {

	private static final Logger LOG = LoggerFactory.getLogger(HapiServerConfig.class);

	@Bean
	public JpaStorageSettings storageSettings(Environment env) {
		JpaStorageSettings s = new JpaStorageSettings();
		// PUT-as-create with any client id, including numeric-looking ones; the server
		// then mints UUIDs so its own ids can never collide with client ones.
		s.setResourceClientIdStrategy(JpaStorageSettings.ClientIdStrategyEnum.ANY);
		s.setResourceServerIdStrategy(JpaStorageSettings.IdStrategyEnum.UUID);
		// Callers expect a search to see a write made just before it; HAPI would otherwise
		// reuse an identical search's results for 60 s.
		s.setReuseCachedSearchResultsForMillis(null);
		// Small footprint: these default to the CPU count.
		s.setReindexThreadCount(1);
		s.setExpungeThreadCount(1);
		// Pre-expansion stores ValueSet expansions through Hibernate Search, which is off here: every scheduled run
		// only logged a failure per ValueSet. Expansion and validation work in memory without it.
		s.setPreExpandValueSets(false);
		s.setEnableTaskPreExpandValueSets(false);
		// Off for the clinical store (a reference must name a record it holds); on for a server
		// used as the audit repository, whose events name records on another server by URL.
		s.setAllowExternalReferences(env.getProperty("HAPI_ALLOW_EXTERNAL_REFERENCES", Boolean.class, false));
		return s;
	}

	@Bean
	public PartitionSettings partitionSettings() {
		return new PartitionSettings();
	}

	@Bean
	public SubscriptionSettings subscriptionSettings(Environment env) {
		SubscriptionSettings s = new SubscriptionSettings();
		// With no channel type supported HAPI does not match writes against subscriptions at all,
		// which saves every write that work on a server nobody subscribes to (the audit repository).
		if (env.getProperty("HAPI_SUBSCRIPTIONS", Boolean.class, true)) {
			s.addSupportedSubscriptionType(Subscription.SubscriptionChannelType.RESTHOOK);
		}
		return s;
	}

	/** Subscription processing insists on a mail sender; email channels are not supported here. */
	@Bean
	public IEmailSender emailSender() {
		return details -> {
			throw new UnsupportedOperationException("email subscriptions are not configured on this server");
		};
	}

	@Primary
	@Bean
	public LocalContainerEntityManagerFactoryBean entityManagerFactory(
			DataSource dataSource,
			ConfigurableListableBeanFactory beanFactory,
			FhirContext fhirContext,
			JpaStorageSettings storageSettings,
			Environment env) {
		LocalContainerEntityManagerFactoryBean emf =
				HapiEntityManagerFactoryUtil.newEntityManagerFactory(beanFactory, fhirContext, storageSettings);
		emf.setPersistenceUnitName("HAPI_PU");
		emf.setDataSource(dataSource);

		String url = env.getProperty("spring.datasource.url", "");
		boolean postgres = url.startsWith("jdbc:postgresql:");
		Properties p = new Properties();
		// HAPI reads hibernate.dialect from this map itself (HibernatePropertiesProvider), so it
		// must be set explicitly, and must match the JDBC URL.
		p.put("hibernate.dialect", (postgres ? HapiFhirPostgresDialect.class : HapiFhirH2Dialect.class).getName());
		p.put("hibernate.hbm2ddl.auto", env.getProperty("hapi.hbm2ddl", "update"));
		p.put("hibernate.search.enabled", "false");
		p.put("hibernate.format_sql", "false");
		p.put("hibernate.show_sql", "false");
		p.put("hibernate.jdbc.batch_size", "20");
		p.put("hibernate.cache.use_query_cache", "false");
		p.put("hibernate.cache.use_second_level_cache", "false");
		p.put("hibernate.cache.use_structured_entries", "false");
		p.put("hibernate.cache.use_minimal_puts", "false");
		// Merged into the defaults HAPI's factory bean already put in the property map.
		emf.setJpaProperties(p);
		return emf;
	}

	@Primary
	@Bean
	public JpaTransactionManager transactionManager(EntityManagerFactory emf) {
		return new JpaTransactionManager(emf);
	}

	/**
	 * Registers every resource type in HFJ_RESOURCE_TYPE before the server takes requests. HAPI fills that table
	 * only when it is empty; a type missing from a table that is not empty is added by the first write of that type,
	 * inside the writing request, and concurrent first writes then exhaust the connection pool (500 HAPI-0389 after
	 * 30 s) or race on the table's unique index (500 HAPI-2223). Singletons finish before the web server starts.
	 */
	@Bean
	public SmartInitializingSingleton resourceTypeRegistration(IResourceTypeCacheSvc resourceTypes) {
		return () -> {
			for (String type : ResourceTypeUtil.generateResourceTypes()) {
				try {
					resourceTypes.getResourceTypeId(type);
				} catch (RuntimeException e) {
					// Another node on the same database registered it a moment ago; now it can be read.
					LOG.info("Resource type {} registered concurrently; reading it again", type);
					resourceTypes.getResourceTypeId(type);
				}
			}
		};
	}

	/**
	 * With WRITE_DELAY=0 (application.yaml) H2 runs no background writer, and that writer is what rewrites
	 * half-empty chunks; without it the file kept all of them, even after a clean stop (500 MB after 4,000 PUTs
	 * and 600 transactions). Does the same rewriting every 10 s, under H2's store lock, so a clean stop can shrink
	 * the file again (measured: 309 MB to 16 MB). Nothing to do on PostgreSQL or with a write delay.
	 */
	@Bean(destroyMethod = "shutdownNow")
	public ScheduledExecutorService h2ChunkCompaction(DataSource dataSource, Environment env) {
		ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
			Thread t = new Thread(r, "h2-chunk-compaction");
			t.setDaemon(true);
			return t;
		});
		if (!env.getProperty("spring.datasource.url", "").startsWith("jdbc:h2:")) return executor;
		executor.scheduleWithFixedDelay(() -> {
			try (Connection c = dataSource.getConnection()) {
				MVStore store = ((SessionLocal) c.unwrap(JdbcConnection.class).getSession()).getDatabase().getStore().getMvStore();
				if (store.getAutoCommitDelay() == 0) {
					// H2's own targets: chunks under 90 % live are rewritten, up to 16 MB a run.
					store.compact(90, 16 * 1024 * 1024);
				}
			} catch (Exception e) {
				LOG.warn("H2 chunk compaction failed", e);
			}
		}, 10, 10, TimeUnit.SECONDS);
		return executor;
	}

	@Bean
	public RestfulServer fhirRestfulServer(
			FhirContext fhirContext,
			ResourceProviderFactory resourceProviders,
			JpaSystemProvider<?, ?> systemProvider,
			ValueSetOperationProvider valueSetOperationProvider,
			IFhirSystemDao<?, ?> systemDao,
			JpaStorageSettings storageSettings,
			ISearchParamRegistry searchParamRegistry,
			IValidationSupport validationSupport,
			DatabaseBackedPagingProvider pagingProvider) {
		RestfulServer server = new RestfulServer(fhirContext);
		server.registerProviders(resourceProviders.createProviders());
		server.registerProvider(systemProvider); // transaction/batch Bundles, history
		server.registerProvider(valueSetOperationProvider); // $expand, $validate-code
		JpaCapabilityStatementProvider capabilities = new JpaCapabilityStatementProvider(
				server, systemDao, storageSettings, searchParamRegistry, validationSupport);
		capabilities.setImplementationDescription("HAPI FHIR R4 Server (local)");
		server.setServerConformanceProvider(capabilities);
		// Paging state lives in the database, so next-page links survive across requests.
		server.setPagingProvider(pagingProvider);
		server.setDefaultResponseEncoding(EncodingEnum.JSON);
		// A request sent with "X-Retry-On-Version-Conflict: retry; max-retries=N" is run again in a fresh database
		// transaction when it loses a race on one of HAPI's unique indexes (same new client id, same new version,
		// same If-None-Exist); the failed attempt is rolled back first. A stale If-Match fails again on every retry.
		server.registerInterceptor(new UserRequestRetryVersionConflictsInterceptor());
		return server;
	}

	/** Nothing reaches HAPI before it has finished starting (see StartupGate). */
	@Bean
	public StartupGate startupGate() {
		return new StartupGate();
	}

	@Bean
	public FilterRegistrationBean<StartupGate> startupGateRegistration(StartupGate gate) {
		FilterRegistrationBean<StartupGate> reg = new FilterRegistrationBean<>(gate);
		reg.addUrlPatterns("/fhir/*");
		reg.setOrder(Integer.MIN_VALUE);
		return reg;
	}

	@Bean
	public ServletRegistrationBean<RestfulServer> fhirServlet(RestfulServer server) {
		ServletRegistrationBean<RestfulServer> reg = new ServletRegistrationBean<>(server, "/fhir/*");
		reg.setName("fhir");
		// Initialise at start-up so /fhir/metadata answering means the server is ready.
		reg.setLoadOnStartup(1);
		return reg;
	}
}
