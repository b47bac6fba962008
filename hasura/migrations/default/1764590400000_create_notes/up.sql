-- The example table of the compose stack, in `public`. owner_id holds the auth service's user id
-- (X-Hasura-User-Id) without a foreign key: the service's `auth` schema belongs to it alone.
CREATE TABLE public.notes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner_id integer NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX notes_owner_id_idx ON public.notes (owner_id);
