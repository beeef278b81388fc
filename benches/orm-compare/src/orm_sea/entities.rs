//! The tables as SeaORM entities (the classic `DeriveEntityModel` form, with the
//! relations declared on `Relation` and `Related`).

/// `users`.
pub mod user {
    use sea_orm::entity::prelude::*;

    /// A user row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        /// Key.
        #[sea_orm(primary_key)]
        pub id: i32,
        /// Name.
        pub name: String,
        /// Hair colour.
        pub hair_color: Option<String>,
    }

    /// A user has many posts.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// Its posts.
        #[sea_orm(has_many = "super::post::Entity")]
        Post,
    }

    impl Related<super::post::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Post.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// `posts`.
pub mod post {
    use sea_orm::entity::prelude::*;

    /// A post row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "posts")]
    pub struct Model {
        /// Key.
        #[sea_orm(primary_key)]
        pub id: i32,
        /// The author's key.
        pub user_id: i32,
        /// Title.
        pub title: String,
        /// Body.
        pub body: Option<String>,
    }

    /// A post belongs to a user and has many comments.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// Its author.
        #[sea_orm(
            belongs_to = "super::user::Entity",
            from = "Column::UserId",
            to = "super::user::Column::Id"
        )]
        User,
        /// Its comments.
        #[sea_orm(has_many = "super::comment::Entity")]
        Comment,
    }

    impl Related<super::user::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::User.def()
        }
    }

    impl Related<super::comment::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Comment.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// `comments`.
pub mod comment {
    use sea_orm::entity::prelude::*;

    /// A comment row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "comments")]
    pub struct Model {
        /// Key.
        #[sea_orm(primary_key)]
        pub id: i32,
        /// The post's key.
        pub post_id: i32,
        /// Text.
        pub text: String,
    }

    /// A comment belongs to a post.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// Its post.
        #[sea_orm(
            belongs_to = "super::post::Entity",
            from = "Column::PostId",
            to = "super::post::Column::Id"
        )]
        Post,
    }

    impl Related<super::post::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Post.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}
